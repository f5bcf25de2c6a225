package org.iofog.system.comsat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ServerSocketFactory;
import javax.net.ssl.SSLContext;

/**
 * A ComSat-compatible relay for tests (docs/system-containers.md): agents' sockets present
 * their passcode and are answered AUTHORIZED; while unpaired their BEATs are echoed; paired
 * sockets are byte pipes. Public mode pairs an outside client on the public port with an
 * authorized agent socket; private mode pairs the agent sockets of two ports (what comes
 * in on an agent socket before it is paired is dropped, as nobody is there). It can drop
 * every connection, stall (read nothing, answer nothing) and be stopped and started again
 * on the same ports.
 */
public final class TestComSat implements AutoCloseable {

    private static final byte[] AUTHORIZED = "AUTHORIZED".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] BEAT = "BEAT".getBytes(StandardCharsets.US_ASCII);

    private final InetAddress bind;
    private final SSLContext tls;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final Object stallGate = new Object();
    private volatile boolean stalled;
    private volatile boolean closed;

    public final AtomicInteger authorized = new AtomicInteger();
    public final AtomicInteger refused = new AtomicInteger();
    public final AtomicInteger pairs = new AtomicInteger();
    public final AtomicInteger privatePairs = new AtomicInteger();
    public final AtomicLong piped = new AtomicLong();
    /** Bytes that came in on agent sockets not paired yet, dropped (BEATs included). */
    public final AtomicLong droppedUnpaired = new AtomicLong();
    /** See {@link #pairMidStream()}. */
    private volatile boolean holdAfterDrop;
    /** Bytes forwarded in the first read after a {@link #pairMidStream()} pairing: a frame's tail. */
    public final AtomicLong midStreamTail = new AtomicLong();

    /** {@code tls} null: plain TCP (Core Networking's devmode). */
    public TestComSat(InetAddress bind, SSLContext tls) {
        this.bind = bind;
        this.tls = tls;
    }

    /** An agent socket, before and after pairing. */
    private final class AgentSide {
        final Socket socket;
        Socket peer; // guarded by this

        AgentSide(Socket socket) {
            this.socket = socket;
        }
    }

    private abstract class Listener {
        final int port;
        final boolean secure;
        int boundPort;
        ServerSocket server;

        Listener(int port, boolean secure) {
            this.port = port;
            this.secure = secure;
        }

        void start() throws IOException {
            ServerSocketFactory f = tls != null && secure ? tls.getServerSocketFactory() : ServerSocketFactory.getDefault();
            int p = boundPort != 0 ? boundPort : port;
            server = f.createServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(bind, p)); // a restart takes the port it had, even a system-chosen one
            boundPort = server.getLocalPort();
            ServerSocket listening = server;
            Thread t = new Thread(() -> {
                while (!listening.isClosed()) {
                    try {
                        Socket s = listening.accept();
                        s.setTcpNoDelay(true);
                        open.add(s);
                        Thread h = new Thread(() -> handle(s), "comsat-conn-" + port);
                        h.setDaemon(true);
                        h.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "comsat-accept-" + port);
            t.setDaemon(true);
            t.start();
        }

        void stop() {
            try {
                server.close();
            } catch (IOException ignored) {
                // stopping
            }
        }

        abstract void handle(Socket s);
    }

    /** Where Core Networking connects: passcode, AUTHORIZED, then BEAT echoes until paired. */
    private final class AgentListener extends Listener {
        final byte[] passcode;
        final Deque<AgentSide> idle = new ArrayDeque<>();
        AgentListener partner; // private mode
        final boolean privateMode;

        AgentListener(int port, String passcode, boolean privateMode) {
            super(port, true);
            this.passcode = passcode.getBytes(StandardCharsets.UTF_8);
            this.privateMode = privateMode;
        }

        @Override
        void handle(Socket s) {
            AgentSide side = new AgentSide(s);
            try {
                InputStream in = s.getInputStream();
                s.setSoTimeout(5_000);
                byte[] given = in.readNBytes(passcode.length);
                s.setSoTimeout(0);
                if (!Arrays.equals(given, passcode)) {
                    refused.incrementAndGet();
                    s.close();
                    return;
                }
                gate();
                s.getOutputStream().write(AUTHORIZED);
                s.getOutputStream().flush();
                authorized.incrementAndGet();
                if (privateMode) {
                    pairPrivate(side);
                } else {
                    synchronized (idle) {
                        idle.addLast(side);
                    }
                }
                pump(side, in);
            } catch (IOException e) {
                // the connection ended
            } finally {
                synchronized (idle) {
                    idle.remove(side);
                }
                close(s);
                Socket peer;
                synchronized (side) {
                    peer = side.peer;
                }
                close(peer);
            }
        }

        private void pairPrivate(AgentSide side) {
            AgentSide other;
            synchronized (TestComSat.this) {
                synchronized (partner.idle) {
                    other = partner.idle.pollFirst();
                }
                if (other == null) {
                    synchronized (idle) {
                        idle.addLast(side);
                    }
                    return;
                }
            }
            synchronized (side) {
                side.peer = other.socket;
            }
            synchronized (other) {
                other.peer = side.socket;
            }
            pairs.incrementAndGet();
            privatePairs.incrementAndGet();
        }

        AgentSide takeIdle() {
            synchronized (idle) {
                return idle.pollFirst();
            }
        }
    }

    /** Reads an agent socket: BEATs echoed while unpaired, bytes forwarded once paired. */
    private void pump(AgentSide side, InputStream in) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        int beatMatched = 0;
        boolean tailNext = false;
        int n;
        while ((n = in.read(buffer)) >= 0) {
            gate();
            Socket peer;
            synchronized (side) {
                peer = side.peer;
            }
            if (peer != null) {
                OutputStream out = peer.getOutputStream();
                synchronized (out) {
                    out.write(buffer, 0, n);
                    out.flush();
                }
                piped.addAndGet(n);
                if (tailNext) {
                    midStreamTail.addAndGet(n);
                    tailNext = false;
                }
                continue;
            }
            droppedUnpaired.addAndGet(n);
            if (holdAfterDrop && n >= 1024) {
                holdAfterDrop = false;
                awaitPeer(side);
                tailNext = true;
                continue; // the rest of this stream goes to the peer: it begins mid-stream
            }
            int beats = 0;
            for (int i = 0; i < n; i++) {
                beatMatched = buffer[i] == BEAT[beatMatched] ? beatMatched + 1 : (buffer[i] == BEAT[0] ? 1 : 0);
                if (beatMatched == BEAT.length) {
                    beats++;
                    beatMatched = 0;
                }
            }
            OutputStream out = side.socket.getOutputStream();
            synchronized (out) {
                for (int i = 0; i < beats; i++) {
                    out.write(BEAT);
                }
                out.flush();
            }
        }
    }

    /** Where outside clients connect (public mode): each is paired with an idle agent socket. */
    private final class PublicListener extends Listener {
        final AgentListener agents;

        /** Outside clients speak plain TCP to the public port (it is theirs to secure). */
        PublicListener(int port, AgentListener agents) {
            super(port, false);
            this.agents = agents;
        }

        @Override
        void handle(Socket client) {
            AgentSide side = null;
            try {
                long deadline = System.nanoTime() + 5_000_000_000L;
                while ((side = agents.takeIdle()) == null && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                if (side == null) {
                    return; // no agent socket to pair with
                }
                synchronized (side) {
                    side.peer = client;
                }
                pairs.incrementAndGet();
                InputStream in = client.getInputStream();
                OutputStream out = side.socket.getOutputStream();
                byte[] buffer = new byte[64 * 1024];
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    gate();
                    synchronized (out) {
                        out.write(buffer, 0, n);
                        out.flush();
                    }
                    piped.addAndGet(n);
                }
            } catch (IOException | InterruptedException e) {
                // the connection ended
            } finally {
                close(client);
                if (side != null) {
                    close(side.socket);
                }
            }
        }
    }

    /** Public mode: returns {agent port, public port} (0: any free port). */
    public synchronized int[] publicMode(int agentPort, int publicPort, String passcode) throws IOException {
        AgentListener agents = new AgentListener(agentPort, passcode, false);
        agents.start();
        PublicListener clients = new PublicListener(publicPort, agents);
        clients.start();
        listeners.add(agents);
        listeners.add(clients);
        return new int[] {agents.server.getLocalPort(), clients.server.getLocalPort()};
    }

    /** Private mode: two agent ports whose authorized sockets are paired; returns both ports. */
    public synchronized int[] privateMode(int portA, String passcodeA, int portB, String passcodeB) throws IOException {
        AgentListener a = new AgentListener(portA, passcodeA, true);
        AgentListener b = new AgentListener(portB, passcodeB, true);
        a.partner = b;
        b.partner = a;
        a.start();
        b.start();
        listeners.add(a);
        listeners.add(b);
        return new int[] {a.server.getLocalPort(), b.server.getLocalPort()};
    }

    /** Authorized agent sockets waiting to be paired, over all ports. */
    public int idle() {
        int n = 0;
        for (Listener l : listeners) {
            if (l instanceof AgentListener a) {
                synchronized (a.idle) {
                    n += a.idle.size();
                }
            }
        }
        return n;
    }

    /**
     * Private mode: the next read of 1 KB or more (a frame's head, not a BEAT) from an
     * unpaired agent socket is dropped, and that socket is read on only once it is paired,
     * so its peer gets the frame's tail: a pairing in the middle of a frame, which a real
     * ComSat's timing makes possible and this makes certain.
     */
    public void pairMidStream() {
        holdAfterDrop = true;
    }

    private static void awaitPeer(AgentSide side) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            synchronized (side) {
                if (side.peer != null) {
                    return;
                }
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
        throw new IOException("no peer within 10 s");
    }

    /** Closes every connection (listeners stay). */
    public void dropAll() {
        List<Socket> all = new ArrayList<>(open);
        open.removeAll(all);
        all.forEach(TestComSat::close);
    }

    /** While stalled nothing is read on, echoed or forwarded; connections stay open. */
    public void stall(boolean on) {
        synchronized (stallGate) {
            stalled = on;
            stallGate.notifyAll();
        }
    }

    /** A restart: listeners and connections closed, then the listeners again on the same ports. */
    public void restart(long downMillis) throws IOException, InterruptedException {
        listeners.forEach(Listener::stop);
        dropAll();
        Thread.sleep(downMillis);
        for (Listener l : listeners) {
            if (l instanceof AgentListener a) {
                synchronized (a.idle) {
                    a.idle.clear();
                }
            }
            l.start();
        }
    }

    private void gate() throws IOException {
        synchronized (stallGate) {
            while (stalled && !closed) {
                try {
                    stallGate.wait();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
        }
    }

    private static void close(Socket s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        stall(false);
        listeners.forEach(Listener::stop);
        dropAll();
    }
}
