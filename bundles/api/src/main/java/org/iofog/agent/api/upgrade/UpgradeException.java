package org.iofog.agent.api.upgrade;

/** An upgrade or rollback that did not happen, or was undone; the message says which and why. */
public class UpgradeException extends Exception {

    private static final long serialVersionUID = 1L;

    public UpgradeException(String message) {
        super(message);
    }

    public UpgradeException(String message, Throwable cause) {
        super(message, cause);
    }
}
