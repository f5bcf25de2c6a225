package org.iofog.sdk.client;

/** Told when a socket to the agent opens or is lost; for logs and health checks. */
public interface ConnectionListener {

    /** Which of the two sockets. */
    enum Socket { MESSAGE, CONTROL }

    void connected(Socket socket, String endpoint);

    /**
     * The socket could not be opened or was lost; the client retries after {@code retryInMillis}.
     */
    void disconnected(Socket socket, String endpoint, String reason, long retryInMillis);
}
