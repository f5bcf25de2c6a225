package org.iofog.agent.api.messaging;

/** A message could not be accepted (the store is closed, full, or failing); nothing was stored. */
public class RouterException extends Exception {

    private static final long serialVersionUID = 1L;

    public RouterException(String message) {
        super(message);
    }

    public RouterException(String message, Throwable cause) {
        super(message, cause);
    }
}
