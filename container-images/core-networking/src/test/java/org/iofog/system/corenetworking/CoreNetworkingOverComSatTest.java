package org.iofog.system.corenetworking;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.iofog.sdk.message.IoMessage;
import org.iofog.system.comsat.TestCertificates;
import org.iofog.system.comsat.TestComSat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Core Networking's ComSat side against the test ComSat over TLS on loopback, in one JVM:
 * the agents are stand-ins (a list for what is published); the real agent and containers
 * are in the itests.
 */
class CoreNetworkingOverComSatTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestCertificates certs;
    private static TestCertificates otherCerts;
    private final List<AutoCloseable> closing = new ArrayList<>();

    @TempDir
    static Path dir;

    @BeforeAll
    static void certificates() throws Exception {
        certs = TestCertificates.generate(dir, "comsat-test", "ip:127.0.0.1,dns:localhost");
        otherCerts = TestCertificates.generate(dir, "impostor", "ip:127.0.0.1,dns:localhost");
    }

    @AfterEach
    void close() throws Exception {
        Collections.reverse(closing);
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    private TestComSat comsat() {
        TestComSat c = new TestComSat(InetAddress.getLoopbackAddress(), certs.serverContext);
        closing.add(c);
        return c;
    }

    private CoreNetworkingConfig config(String mode, int port, String passcode, int count, String cert, String extra)
            throws Exception {
        return CoreNetworkingConfig.parse(JSON.readTree("{\"mode\":\"" + mode + "\",\"host\":\"127.0.0.1\",\"port\":" + port
                + ",\"connectioncount\":" + count + ",\"passcode\":\"" + passcode + "\",\"localhost\":\"127.0.0.1\","
                + "\"acktimeout\":1000,\"cert\":\"" + cert + "\"" + extra
                + (extra.contains("heartbeat") ? "" : ",\"heartbeatfrequency\":200,\"heartbeatabsencethreshold\":1000") + "}"));
    }

    private ComSatPool pool(CoreNetworkingConfig c, ComSatPool.Session session) throws Exception {
        ComSatPool p = new ComSatPool(c, new ComSatConnector(c, dir.resolve("none.crt")), session);
        closing.add(p);
        p.start();
        return p;
    }

    /** A private relay that publishes on a stand-in agent: {@code into} (null: nowhere), taken at once. */
    private PrivateRelay relay(CoreNetworkingConfig c, List<IoMessage> into) {
        PrivateRelay r = new PrivateRelay(c, m -> {
            if (into != null) {
                into.add(m);
            }
            return CompletableFuture.completedFuture(null);
        });
        closing.add(r);
        return r;
    }

    /** A private-mode side on {@code port}: its relay (publishing into {@code into}) and its ComSat pool. */
    private PrivateRelay connect(int port, String passcode, String extra, List<IoMessage> into) throws Exception {
        CoreNetworkingConfig c = config("private", port, passcode, 1, certs.base64Der(), extra);
        PrivateRelay r = relay(c, into);
        pool(c, r);
        return r;
    }

    /** The first side of {@code comsat}'s private pair to connect: authorized, with nobody to pair with. */
    private PrivateRelay connectAlone(TestComSat comsat, int port, String passcode, String extra, List<IoMessage> into)
            throws Exception {
        PrivateRelay r = connect(port, passcode, extra, into);
        await("A authorized, alone", () -> comsat.authorized.get() == 1);
        return r;
    }

    private static List<String> ids(List<IoMessage> messages) {
        List<String> ids = new ArrayList<>();
        synchronized (messages) {
            messages.forEach(m -> ids.add(m.id()));
        }
        return ids;
    }

    /** The ids {@link #message} gives {@code publisher}'s first {@code count} messages. */
    private static List<String> ids(String publisher, int count) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ids.add("id-" + publisher + "-" + i);
        }
        return ids;
    }

    private static IoMessage message(String publisher, int n) {
        return IoMessage.builder().id("id-" + publisher + "-" + n).publisher(publisher).infoType("text").infoFormat("utf-8")
                .contentData(("#" + n + " " + "x".repeat(90)).getBytes(StandardCharsets.UTF_8)).build();
    }

    @Test
    void privateModeRelaysEverythingInOrderWhileTheComSatDropsConnections() throws Exception {
        TestComSat comsat = comsat();
        int[] ports = comsat.privateMode(0, "passcode-a", 0, "passcode-b");
        List<IoMessage> atB = Collections.synchronizedList(new ArrayList<>());
        List<IoMessage> atA = Collections.synchronizedList(new ArrayList<>());
        CoreNetworkingConfig ca = config("private", ports[0], "passcode-a", 1, certs.base64Der(), "");
        CoreNetworkingConfig cb = config("private", ports[1], "passcode-b", 1, certs.base64Der(), ",\"maxmessagebytes\":1000");
        PrivateRelay a = relay(ca, atA);
        PrivateRelay b = relay(cb, atB);
        pool(ca, a);
        pool(cb, b);
        await("both sides paired", () -> comsat.privatePairs.get() == 1);

        int total = 5_000;
        for (int i = 0; i < total; i++) {
            a.send(message("sensor", i));
            if (i == 1_000 || i == 3_000) {
                comsat.dropAll();
            }
            if (i == 2_000) {
                // Oversized for B: skipped there, acknowledged, the stream goes on.
                a.send(IoMessage.builder().id("big").publisher("sensor").contentData(new byte[5_000]).build());
            }
        }
        b.send(message("other-side", 0));
        await("all " + total + " at B", () -> atB.size() >= total);
        await("B's message at A", () -> atA.size() == 1);
        List<Integer> order = new ArrayList<>();
        synchronized (atB) {
            atB.forEach(m -> order.add(Integer.parseInt(new String(m.contentData(), StandardCharsets.UTF_8).split(" ")[0].substring(1))));
        }
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < total; i++) {
            expected.add(i);
        }
        assertThat(order).as("none lost, none twice, in order").isEqualTo(expected);
        assertThat(atB.get(0).publisher()).isEqualTo("sensor");
        assertThat(atA.get(0).publisher()).isEqualTo("other-side");
        assertThat(b.skippedOversized.get()).isEqualTo(1);
        await("every message acknowledged to A", () -> a.buffered() == 0);
        System.out.println("private mode through the test ComSat: A " + a.figures() + " | B " + b.figures());
    }

    @Test
    void messagesSentBeforeTheOtherSideIsThereAreNotLost() throws Exception {
        TestComSat comsat = comsat();
        int[] ports = comsat.privateMode(0, "a", 0, "b");
        List<IoMessage> atB = Collections.synchronizedList(new ArrayList<>());
        PrivateRelay a = connectAlone(comsat, ports[0], "a", "", null);
        for (int i = 0; i < 200; i++) {
            a.send(message("early", i)); // the ComSat drops what A sends while B is not there
        }
        Thread.sleep(1_500);
        connect(ports[1], "b", "", atB);
        await("all 200 at B", () -> atB.size() >= 200);
        assertThat(ids(atB)).isEqualTo(ids("early", 200));
    }

    @Test
    void aMessageFromTheOtherSideDoesNotConfirmOneTheComSatDropped() throws Exception {
        TestComSat comsat = comsat();
        int[] ports = comsat.privateMode(0, "a", 0, "b");
        List<IoMessage> atB = Collections.synchronizedList(new ArrayList<>());
        List<IoMessage> atA = Collections.synchronizedList(new ArrayList<>());
        PrivateRelay a = connectAlone(comsat, ports[0], "a", "", atA);
        a.send(message("first", 0)); // on the wire while nobody is paired with A: the ComSat drops it
        await("the first message written", () -> a.sent.get() == 1);
        // B arrives well within A's ACK timeout, and speaks first: its message shows A that
        // B is there now, not that A's first message got through.
        CoreNetworkingConfig cb = config("private", ports[1], "b", 1, certs.base64Der(), "");
        PrivateRelay b = relay(cb, atB);
        b.send(message("other-side", 0));
        pool(cb, b);
        await("B's message at A", () -> atA.size() == 1);
        for (int i = 1; i < 100; i++) {
            a.send(message("first", i));
        }
        // Once A holds nothing, it has counted an ACK for every message: all must be at B.
        await("every message acknowledged to A", () -> a.buffered() == 0);
        assertThat(ids(atB)).as("none lost, in order").isEqualTo(ids("first", 100));
    }

    @Test
    void aFrameWhoseHeadTheComSatDroppedIsSentAgainWhole() throws Exception {
        TestComSat comsat = comsat();
        int[] ports = comsat.privateMode(0, "a", 0, "b");
        List<IoMessage> atB = Collections.synchronizedList(new ArrayList<>());
        PrivateRelay a = connectAlone(comsat, ports[0], "a", "", null);
        // Over several TLS records (16 KB each): the ComSat drops the first read of it (A is
        // alone), then B pairs and gets the rest, a frame without its head.
        byte[] content = new byte[100_000];
        new Random(7).nextBytes(content);
        comsat.pairMidStream();
        a.send(IoMessage.builder().id("big").publisher("sensor").contentData(content).build());
        await("the frame's head dropped", () -> comsat.droppedUnpaired.get() > 0);
        connect(ports[1], "b", "", atB);
        for (int i = 0; i < 20; i++) {
            a.send(message("after", i));
        }
        await("every message acknowledged to A", () -> a.buffered() == 0);
        List<String> expected = new ArrayList<>(List.of("big"));
        expected.addAll(ids("after", 20));
        assertThat(ids(atB)).as("the cut one again, whole, then the rest, in order").isEqualTo(expected);
        assertThat(atB.get(0).contentData()).isEqualTo(content);
        assertThat(a.resent.get()).as("sent again on a new socket").isPositive();
        assertThat(comsat.midStreamTail.get()).as("B got a tail of the frame first").isPositive();
    }

    @Test
    void aFullSendBufferHoldsTheAgentBackAndDropsNothing() throws Exception {
        TestComSat comsat = comsat();
        int[] ports = comsat.privateMode(0, "a", 0, "b");
        List<IoMessage> atB = Collections.synchronizedList(new ArrayList<>());
        PrivateRelay a = connectAlone(comsat, ports[0], "a", ",\"sendbuffercount\":100", null);
        // Three times what the buffer holds, while nobody is on the other side.
        List<CompletableFuture<Void>> admitted = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            admitted.add(a.send(message("burst", i)));
        }
        assertThat(admitted.subList(0, 100)).allMatch(CompletableFuture::isDone);
        assertThat(admitted.subList(100, 300)).noneMatch(CompletableFuture::isDone); // not acknowledged to the agent
        assertThat(a.buffered()).isEqualTo(100);

        connect(ports[1], "b", "", atB);
        await("all 300 at B", () -> atB.size() >= 300);
        CompletableFuture.allOf(admitted.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
        assertThat(ids(atB)).as("none dropped, in order").isEqualTo(ids("burst", 300));
        assertThat(a.heldBack.get()).isEqualTo(200);
    }

    @Test
    void aComSatWithAnotherCertificateIsNeverTrusted() throws Exception {
        TestComSat comsat = comsat();
        int[] ports = comsat.privateMode(0, "p", 0, "q");
        CoreNetworkingConfig c = config("private", ports[0], "p", 2, otherCerts.base64Der(), "");
        PrivateRelay relay = relay(c, null);
        ComSatPool pool = pool(c, relay);
        await("a failed attempt", () -> pool.failures() >= 1);
        Thread.sleep(500);
        assertThat(comsat.authorized.get()).isZero();
        assertThat(pool.size()).isZero();
        // The right certificate in a PEM file works (the config has no cert).
        Path pem = dir.resolve("comsat.pem");
        Files.writeString(pem, certs.pem());
        CoreNetworkingConfig fromFile = config("private", ports[0], "p", 2, "", "");
        ComSatPool good = new ComSatPool(fromFile, new ComSatConnector(fromFile, pem), relay);
        closing.add(good);
        good.start();
        await("two authorized sockets", () -> comsat.authorized.get() == 2 && good.size() == 2);
    }

    @Test
    void aWrongPasscodeBacksOffInsteadOfSpinning() throws Exception {
        TestComSat comsat = comsat();
        int[] ports = comsat.privateMode(0, "right", 0, "other");
        CoreNetworkingConfig c = config("private", ports[0], "wrong", 3, certs.base64Der(), "");
        PrivateRelay relay = relay(c, null);
        pool(c, relay);
        Thread.sleep(3_500);
        // 1 s, then 2 s between rounds: a handful of attempts, not thousands.
        assertThat(comsat.refused.get()).isBetween(1, 12);
    }

    @Test
    void publicModePipesAnOutsideClientToTheLocalServiceAndRefillsThePool() throws Exception {
        try (ServerSocket local = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread echo = new Thread(() -> {
                while (!local.isClosed()) {
                    try {
                        Socket s = local.accept();
                        new Thread(() -> {
                            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                                byte[] b = new byte[1024];
                                int n;
                                while ((n = in.read(b)) >= 0) {
                                    out.write(("echo:" + new String(b, 0, n, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
                                    out.flush();
                                }
                            } catch (Exception ignored) {
                                // closed
                            }
                        }).start();
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            echo.setDaemon(true);
            echo.start();
            TestComSat comsat = comsat();
            int[] ports = comsat.publicMode(0, 0, "pub");
            CoreNetworkingConfig c = config("public", ports[0], "pub", 3, certs.base64Der(), ",\"localport\":" + local.getLocalPort()
                    // Slow heartbeats: a BEAT written between pairing and the client's first byte would reach the client.
                    + ",\"heartbeatfrequency\":5000,\"heartbeatabsencethreshold\":15000");
            PublicSession session = new PublicSession(c);
            ComSatPool pool = pool(c, session);
            await("three authorized", () -> comsat.authorized.get() == 3 && pool.size() == 3);
            Thread.sleep(300); // AUTHORIZED in: not mistaken for data
            for (int round = 0; round < 5; round++) {
                try (Socket client = new Socket(InetAddress.getLoopbackAddress(), ports[1])) {
                    client.setSoTimeout(5_000);
                    client.getOutputStream().write(("hello " + round).getBytes(StandardCharsets.UTF_8));
                    byte[] answer = new byte[64];
                    int n = client.getInputStream().read(answer);
                    assertThat(new String(answer, 0, n, StandardCharsets.UTF_8)).as(java.util.Arrays.toString(java.util.Arrays.copyOf(answer, n))).isEqualTo("echo:hello " + round);
                }
                // Refilled as the ComSat sees it: three authorized sockets waiting for clients.
                await("the pool refilled", () -> pool.size() == 3 && session.piping() == 0 && comsat.idle() == 3);
            }
            assertThat(session.pipes()).isEqualTo(5);
            // A restarted ComSat: the pool comes back by itself.
            int authorizedBefore = comsat.authorized.get();
            comsat.restart(300);
            await("the pool back after the ComSat restarted",
                    () -> pool.size() == 3 && comsat.idle() == 3 && comsat.authorized.get() >= authorizedBefore + 3);
        }
    }

    @Test
    void aStalledComSatIsDetectedByTheAbsenceThreshold() throws Exception {
        TestComSat comsat = comsat();
        int[] ports = comsat.privateMode(0, "p", 0, "q");
        CoreNetworkingConfig c = config("private", ports[0], "p", 1, certs.base64Der(), "");
        PrivateRelay relay = relay(c, null);
        ComSatPool pool = pool(c, relay);
        await("authorized", () -> pool.size() == 1 && comsat.authorized.get() == 1);
        comsat.stall(true);
        long opened = pool.opened();
        await("the silent socket replaced", () -> pool.opened() > opened);
        comsat.stall(false);
        await("authorized again", () -> comsat.authorized.get() >= 2);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                printThreads(); // what each thread was doing when it stalled: the failure report alone does not say
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(20);
        }
    }

    private static void printThreads() {
        StringBuilder dump = new StringBuilder("threads at the timeout:\n");
        Thread.getAllStackTraces().forEach((thread, stack) -> {
            dump.append('"').append(thread.getName()).append("\" ").append(thread.getState()).append('\n');
            for (StackTraceElement frame : stack) {
                dump.append("    at ").append(frame).append('\n');
            }
        });
        System.out.println(dump);
    }
}
