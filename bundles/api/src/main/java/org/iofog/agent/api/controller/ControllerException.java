package org.iofog.agent.api.controller;

/** A controller call that failed, with a message an operator can act on. */
public class ControllerException extends Exception {

    private static final long serialVersionUID = 1L;
    private final int httpStatus;

    public ControllerException(String message, int httpStatus) {
        super(message);
        this.httpStatus = httpStatus;
    }

    public ControllerException(String message, Throwable cause) {
        super(message, cause);
        this.httpStatus = -1;
    }

    /** The controller's HTTP status, or -1 when it did not answer. */
    public int httpStatus() {
        return httpStatus;
    }
}
