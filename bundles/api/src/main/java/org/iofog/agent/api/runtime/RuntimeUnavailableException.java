package org.iofog.agent.api.runtime;

/** The container engine cannot be reached or refused the operation. */
public class RuntimeUnavailableException extends Exception {

    private static final long serialVersionUID = 1L;

    public RuntimeUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
