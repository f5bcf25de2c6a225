package org.iofog.system.corenetworking;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;

/** One pooled connection to the ComSat: its "last active" time, and writes kept whole. */
final class ComSatSocket implements AutoCloseable {

    final int number;
    private final Socket socket;
    private final OutputStream out;
    private volatile long lastActiveNanos = System.nanoTime();
    private volatile boolean authorized;
    private volatile boolean exemptFromHeartbeat;
    private volatile boolean closed;
    /** How long the pool waits before it opens this socket's successor (0: at once). */
    private volatile long reopenPauseMillis;

    ComSatSocket(int number, Socket socket) throws IOException {
        this.number = number;
        this.socket = socket;
        this.out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
    }

    InputStream input() throws IOException {
        return socket.getInputStream();
    }

    /** Writes bytes as one unit (no other writer's bytes in between); flushes when asked. */
    void write(byte[] bytes, boolean flush) throws IOException {
        write(bytes, 0, bytes.length, flush);
    }

    synchronized void write(byte[] bytes, int offset, int length, boolean flush) throws IOException {
        out.write(bytes, offset, length);
        if (flush) {
            out.flush();
        }
    }

    synchronized void flush() throws IOException {
        out.flush();
    }

    /** BEAT, BEATBEAT or AUTHORIZED arrived. */
    void active() {
        lastActiveNanos = System.nanoTime();
    }

    void authorized() {
        authorized = true;
        active();
    }

    boolean isAuthorized() {
        return authorized;
    }

    long silentMillis() {
        return (System.nanoTime() - lastActiveNanos) / 1_000_000;
    }

    /** A public socket that is piping carries the outside client's bytes: no heartbeat goes into it. */
    void exemptFromHeartbeat() {
        exemptFromHeartbeat = true;
    }

    boolean heartbeats() {
        return !exemptFromHeartbeat && !closed;
    }

    boolean isClosed() {
        return closed;
    }

    /**
     * Closes the socket and asks the pool to wait {@code millis} before it opens the next
     * one: the other side, whose socket the ComSat closes with ours, gets there first.
     */
    void closeAndPauseReopening(long millis) {
        reopenPauseMillis = millis;
        close();
    }

    long reopenPauseMillis() {
        return reopenPauseMillis;
    }

    @Override
    public void close() {
        closed = true;
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public String toString() {
        return "ComSat socket #" + number;
    }
}
