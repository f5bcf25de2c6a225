package org.iofog.sdk.message;

/**
 * The one error every decoder in this package throws for malformed input: wrong
 * version, lengths that run past the end, trailing bytes, bad Base64, wrong JSON types.
 * The message says what was wrong and where.
 */
public final class InvalidIoMessageException extends Exception {

    private static final long serialVersionUID = 1L;

    public InvalidIoMessageException(String message) {
        super(message);
    }

    public InvalidIoMessageException(String message, Throwable cause) {
        super(message, cause);
    }
}
