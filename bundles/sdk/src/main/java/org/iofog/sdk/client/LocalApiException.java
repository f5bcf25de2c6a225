package org.iofog.sdk.client;

import java.io.IOException;

/** A Local API call the agent answered with an error, or did not answer. */
public class LocalApiException extends IOException {

    private static final long serialVersionUID = 1L;
    private final int status;

    public LocalApiException(String message, int status) {
        super(message);
        this.status = status;
    }

    public LocalApiException(String message, Throwable cause) {
        super(message, cause);
        this.status = -1;
    }

    /** The HTTP status, or -1 when the agent did not answer. */
    public int status() {
        return status;
    }
}
