package org.iofog.system.corenetworking;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.iofog.system.support.SystemContainer;

/**
 * The pool of connections to the ComSat, kept at {@code connectioncount}: a supervisor
 * thread opens what is missing; each socket has a reader thread running the mode's
 * session until the socket closes, when it leaves the pool and a fresh one is opened. A
 * connection that cannot be opened, or that closes before the ComSat said AUTHORIZED (a
 * wrong passcode, a ComSat going down), means the ComSat is unreachable: every pooled
 * socket is closed and opening starts again after a backoff of 1 s doubling up to 60 s,
 * spent waiting (no CPU). A scheduler writes BEAT on every socket that takes heartbeats
 * and closes any that has been silent past the absence threshold.
 */
final class ComSatPool implements AutoCloseable {

    static final byte[] BEAT = "BEAT".getBytes(StandardCharsets.US_ASCII);
    private static final long MIN_BACKOFF_MILLIS = 1_000;
    private static final long MAX_BACKOFF_MILLIS = 60_000;

    /** What a mode does with a socket, on the socket's reader thread, until it closes. */
    interface Session {
        void run(ComSatSocket socket) throws IOException;

        default void closed(ComSatSocket socket) {
        }
    }

    private final CoreNetworkingConfig config;
    private final ComSatConnector connector;
    private final Session session;
    private final List<ComSatSocket> sockets = new CopyOnWriteArrayList<>();
    private final Object changed = new Object();
    private final Thread supervisor;
    private final ScheduledExecutorService heartbeats;
    private final AtomicInteger numbers = new AtomicInteger();
    private final AtomicLong opened = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile boolean running = true;
    /** Set when a socket closed before it was authorized: the supervisor backs off. */
    private volatile boolean unauthorizedClose;
    /** No socket is opened before this time (System.nanoTime); see {@link ComSatSocket#closeAndPauseReopening}. */
    private volatile long reopenNotBeforeNanos = System.nanoTime();

    ComSatPool(CoreNetworkingConfig config, ComSatConnector connector, Session session) {
        this.config = config;
        this.connector = connector;
        this.session = session;
        this.supervisor = new Thread(this::supervise, "comsat-pool");
        this.supervisor.setDaemon(true);
        this.heartbeats = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "comsat-heartbeat");
            t.setDaemon(true);
            return t;
        });
    }

    void start() {
        supervisor.start();
        heartbeats.scheduleAtFixedRate(this::beat, config.heartbeatMillis(), config.heartbeatMillis(), TimeUnit.MILLISECONDS);
        long check = Math.max(50, Math.min(1_000, config.absenceMillis() / 4));
        heartbeats.scheduleAtFixedRate(this::closeSilent, check, check, TimeUnit.MILLISECONDS);
    }

    private void supervise() {
        long backoff = MIN_BACKOFF_MILLIS;
        while (running) {
            if (sockets.stream().anyMatch(ComSatSocket::isAuthorized)) {
                backoff = MIN_BACKOFF_MILLIS; // the ComSat is there and takes our passcode
            }
            if (unauthorizedClose) {
                unauthorizedClose = false;
                backoff = fail("a connection closed before the ComSat authorized it", backoff);
                continue;
            }
            if (sockets.size() >= config.connectionCount()) {
                waitForChange(1_000);
                continue;
            }
            long pause = (reopenNotBeforeNanos - System.nanoTime()) / 1_000_000;
            if (pause > 0) {
                waitFor(pause);
                continue;
            }
            try {
                ComSatSocket socket = new ComSatSocket(numbers.incrementAndGet(), connector.open());
                opened.incrementAndGet();
                sockets.add(socket);
                Thread reader = new Thread(() -> read(socket), "comsat-" + socket.number);
                reader.setDaemon(true);
                reader.start();
            } catch (IOException | RuntimeException e) {
                backoff = fail("cannot open a connection to the ComSat " + config.host() + ":" + config.port() + ": " + e.getMessage(),
                        backoff);
            }
        }
    }

    /** Closes everything and waits; returns the next backoff. */
    private long fail(String why, long backoff) {
        failures.incrementAndGet();
        SystemContainer.log("core networking: " + why + "; closing the pool, retrying in " + backoff + " ms");
        sockets.forEach(ComSatSocket::close);
        waitFor(backoff);
        return Math.min(MAX_BACKOFF_MILLIS, backoff * 2);
    }

    private void read(ComSatSocket socket) {
        try {
            session.run(socket);
        } catch (IOException | RuntimeException e) {
            if (running && !socket.isClosed()) {
                SystemContainer.log("core networking: " + socket + " lost: " + e.getMessage());
            }
        } finally {
            socket.close();
            if (socket.reopenPauseMillis() > 0) {
                reopenNotBeforeNanos = System.nanoTime() + socket.reopenPauseMillis() * 1_000_000;
            }
            sockets.remove(socket);
            session.closed(socket);
            if (running && !socket.isAuthorized()) {
                unauthorizedClose = true;
            }
            synchronized (changed) {
                changed.notifyAll();
            }
        }
    }

    private void beat() {
        for (ComSatSocket s : sockets) {
            if (s.heartbeats()) {
                try {
                    s.write(BEAT, true);
                } catch (IOException e) {
                    s.close();
                }
            }
        }
    }

    private void closeSilent() {
        for (ComSatSocket s : sockets) {
            if (s.heartbeats() && s.silentMillis() > config.absenceMillis()) {
                SystemContainer.log("core networking: " + s + " silent for " + s.silentMillis() + " ms; replacing it");
                s.close();
            }
        }
    }

    private void waitForChange(long millis) {
        synchronized (changed) {
            try {
                changed.wait(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }
    }

    private void waitFor(long millis) {
        long deadline = System.nanoTime() + millis * 1_000_000;
        synchronized (changed) {
            long left;
            while (running && (left = (deadline - System.nanoTime()) / 1_000_000) > 0) {
                try {
                    changed.wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    running = false;
                }
            }
        }
    }

    int size() {
        return sockets.size();
    }

    long opened() {
        return opened.get();
    }

    long failures() {
        return failures.get();
    }

    @Override
    public void close() {
        running = false;
        synchronized (changed) {
            changed.notifyAll();
        }
        heartbeats.shutdownNow();
        sockets.forEach(ComSatSocket::close);
        try {
            supervisor.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
