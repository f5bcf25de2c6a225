package org.iofog.agent.devices.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.messaging.Subscription;
import org.iofog.agent.router.internal.DurableMessageRouter;
import org.iofog.agent.router.internal.MessageRouterConfig;
import org.iofog.sdk.message.IoMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway component as DS would run it, with the real router, a real microservice
 * stand-in subscribed to the router, and real MQTT clients (Eclipse Paho) as devices, on
 * loopback.
 */
class DeviceGatewayOverMqttTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The router's store, the password file and keys; JUnit deletes it after each test. */
    @TempDir
    Path dir;
    private int port;
    private DurableMessageRouter router;
    private DeviceGateway gateway;
    private Subscription thermostat;
    private final List<MqttClient> clients = new ArrayList<>();
    private final Desired desired = new Desired();
    private final List<IoMessage> callResults = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final java.util.concurrent.ExecutorService microservice = java.util.concurrent.Executors.newSingleThreadExecutor();

    static final class Desired implements DesiredStateSource {
        volatile DesiredState state = DesiredState.empty("test");
        final List<Consumer<DesiredState>> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public DesiredState current() {
            return state;
        }

        @Override
        public AutoCloseable subscribe(Consumer<DesiredState> listener) {
            listeners.add(listener);
            return () -> listeners.remove(listener);
        }
    }

    static <T> T config(Class<T> type, Map<String, Object> values) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (p, m, a) -> {
            if (m.getName().equals("annotationType")) {
                return type;
            }
            return values.containsKey(m.getName()) ? values.get(m.getName()) : m.getDefaultValue();
        }));
    }

    @BeforeEach
    void start() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.writeString(dir.resolve("passwd"), "# one line per application\nthermo-app:"
                + PasswordFileAuthenticator.digest("s3cret".getBytes(StandardCharsets.UTF_8)) + "\n");
        // The thermostat serves "temperature" and routes to the gateway (its consent to talk with devices).
        desired.state = new DesiredState(List.of(new Microservice("thermostat", "image",
                "{\"activities\":[{\"name\":\"temperature\",\"signature\":[\"string\"],\"lease\":300}]}", false, false, 0, 1,
                null, null, null, null, null, List.of(MessageRouter.DEVICE_GATEWAY), false, false, false, null, null)),
                List.of(), "test", 1, Instant.now());
        router = new DurableMessageRouter(config(MessageRouterConfig.class, Map.of("storeDirectory", dir.resolve("router").toString())));
        Method bind = DurableMessageRouter.class.getDeclaredMethod("bindDesiredStateSource", DesiredStateSource.class);
        bind.setAccessible(true);
        bind.invoke(router, desired);

        gateway = new DeviceGateway(config(DeviceGatewayConfig.class, Map.of("host", "127.0.0.1", "port", port,
                "passwordFile", dir.resolve("passwd").toString(), "maxMessageBytes", 4096, "maxPublishesPerSecond", 100)));
        gateway.bindMessageRouter(router);
        gateway.bindDesiredStateSource(desired);
        await().atMost(Duration.ofSeconds(10)).until(() -> gateway.status().state() == org.iofog.agent.api.status.HealthState.RUNNING);
        serveTemperature();
    }

    /**
     * The microservice: answers each call with the reading for the place it names, from its
     * own thread (as a container's answer comes in on a Local API thread of its own).
     */
    private void serveTemperature() {
        Subscription[] self = new Subscription[1];
        int[] early = {0};
        self[0] = router.subscribe("thermostat", 16, m -> {
            if (m.infoType().equals("jam/call-result")) {
                callResults.add(m);
            }
            if (m.infoType().equals("jam/rexec")) {
                microservice.execute(() -> {
                    try {
                        String place = JSON.readTree(m.contentData()).get(0).asText();
                        router.publish("thermostat", IoMessage.builder().infoType("jam/result").infoFormat("json")
                                .contextData(m.contextData())
                                .contentData(("{\"value\":\"" + place + ": 21.5 C\"}").getBytes(StandardCharsets.UTF_8)).build());
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
            }
            if (self[0] == null) {
                early[0]++;
            } else {
                self[0].ack();
            }
        });
        for (; early[0] > 0; early[0]--) {
            self[0].ack();
        }
        thermostat = self[0];
    }

    @AfterEach
    void stop() throws Exception {
        for (MqttClient c : clients) {
            try {
                if (c.isConnected()) {
                    c.disconnectForcibly(100, 100);
                }
                c.close(true);
            } catch (MqttException e) {
                // closing anyway
            }
        }
        microservice.shutdownNow();
        thermostat.close();
        gateway.deactivate();
        Method deactivate = DurableMessageRouter.class.getDeclaredMethod("deactivate"); // package-private there
        deactivate.setAccessible(true);
        deactivate.invoke(router);
    }

    /** A device: a Paho client subscribed to the announcements and its reply topics. */
    private final class Device {
        final MqttClient client;
        final BlockingQueue<DeviceMessage> heard = new LinkedBlockingQueue<>();

        Device(String name, String user, String password) throws MqttException {
            this("tcp://127.0.0.1:" + port, null, name, user, password);
        }

        Device(String uri, javax.net.SocketFactory sockets, String name, String user, String password) throws MqttException {
            client = new MqttClient(uri, name, new MemoryPersistence());
            clients.add(client);
            MqttConnectOptions o = new MqttConnectOptions();
            o.setCleanSession(true);
            o.setConnectionTimeout(5);
            if (sockets != null) {
                o.setSocketFactory(sockets);
                o.setHttpsHostnameVerificationEnabled(false); // the certificate names 127.0.0.1 by IP
            }
            if (user != null) {
                o.setUserName(user);
                o.setPassword(password.toCharArray());
            }
            o.setWill(FogBroker.ADMIN_ANNOUNCE, ("{\"cmd\":\"GONE\",\"actarg\":\"" + name + "\"}").getBytes(StandardCharsets.UTF_8),
                    1, false);
            client.connect(o);
            client.subscribe(new String[] {FogBroker.ADMIN_ANNOUNCE, FogBroker.FUNC_REPLY + "+", FogBroker.MACHINE_ANNOUNCE},
                    new int[] {1, 1, 1}, new org.eclipse.paho.client.mqttv3.IMqttMessageListener[] {this::heard, this::heard, this::heard});
        }

        private void heard(String topic, org.eclipse.paho.client.mqttv3.MqttMessage m) {
            try {
                heard.add(DeviceMessageCodec.decode(m.getPayload()));
            } catch (DeviceMessageCodec.MalformedMessageException e) {
                // a will or another device's payload
            }
        }

        void send(String topic, String cmd, String opt, String actname, String actid, String actarg, Object... args)
                throws MqttException {
            client.publish(topic, DeviceMessageCodec.encode(DeviceMessage.of(cmd, opt, actname, actid, actarg, List.of(args),
                    DeviceMessage.Encoding.CBOR)), 1, false);
        }

        DeviceMessage await(Predicate<DeviceMessage> what) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline) {
                DeviceMessage m = heard.poll(100, TimeUnit.MILLISECONDS);
                if (m != null && what.test(m)) {
                    return m;
                }
            }
            throw new AssertionError("nothing matching heard within 10 s");
        }

        String register(String serial) throws Exception {
            send(FogBroker.ADMIN_REQUEST, "REGISTER", "DEVICE", "thermo-app", "_", serial);
            DeviceMessage ack = await(m -> m.cmd().equals("REGISTER-ACK") && m.actarg().equals(serial));
            assertThat(ack.opt()).isEqualTo("NEW");
            return ack.actid();
        }
    }

    @Test
    void aDeviceRegistersCallsAnActivityAndGetsTheMicroservicesResult() throws Exception {
        Device d = new Device("sensor-1", "thermo-app", "s3cret");
        String id = d.register("serial-1");
        d.send(FogBroker.FUNC_REQUEST, "REXEC-SYN", "-", "temperature", "a1", id, "kitchen");
        DeviceMessage ack = d.await(m -> m.cmd().equals("REXEC-ACK"));
        assertThat(ack.args()).containsExactly(300L);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            d.send(FogBroker.FUNC_REQUEST, "REXEC-RES", "GET", "temperature", "a1", id);
            DeviceMessage put = d.await(m -> m.cmd().equals("REXEC-RES"));
            assertThat(put.actarg()).isEqualTo("COMPLETE-SUC");
            assertThat(put.args()).containsExactly("kitchen: 21.5 C");
        });
        JsonNode status = JSON.valueToTree(gateway.status().figures());
        assertThat(status.get("devicesRegistered").asInt()).isEqualTo(1);
        assertThat(status.get("results").asInt()).isEqualTo(1);
    }

    /** Regression: a result delivered under the router's locks while a device's call waited for them. */
    @Test
    void devicesCallingWhileTheMicroserviceAnswersDoNotDeadlockTheGateway() throws Exception {
        List<Device> many = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (int d = 0; d < 8; d++) {
            Device device = new Device("busy-" + d, "thermo-app", "s3cret");
            many.add(device);
            ids.add(device.register("busy-serial-" + d));
        }
        for (int i = 0; i < 100; i++) {
            for (int d = 0; d < 8; d++) {
                many.get(d).send(FogBroker.FUNC_REQUEST, "REXEC-SYN", "-", "temperature", "b" + i, ids.get(d), "room " + i);
            }
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> JSON.valueToTree(gateway.status().figures()).path("results").asInt() == 800);
        assertThat(JSON.valueToTree(gateway.status().figures()).path("callsInFlight").asInt()).isZero();
    }

    @Test
    void aMicroserviceCallsTheDevicesAndGetsTheirResults() throws Exception {
        Device a = new Device("lamp-a", "thermo-app", "s3cret");
        Device b = new Device("lamp-b", "thermo-app", "s3cret");
        String idA = a.register("lamp-serial-a");
        String idB = b.register("lamp-serial-b");
        router.publish("thermostat", IoMessage.builder().infoType("jam/call").infoFormat("json")
                .contextData("{\"runid\":\"r1\",\"activity\":\"blink\",\"policy\":\"all\",\"deadline\":10000}"
                        .getBytes(StandardCharsets.UTF_8))
                .contentData("[2]".getBytes(StandardCharsets.UTF_8)).build());
        for (Device d : List.of(a, b)) {
            String id = d == a ? idA : idB;
            DeviceMessage call = d.await(m -> m.cmd().equals("REXEC-CALL"));
            assertThat(call.actid()).isEqualTo("r1");
            d.send(FogBroker.MACHINE_ACK, "REXEC-RDY", id, "blink", "act-" + id, "r1", 500L, 9000L);
            assertThat(d.await(m -> m.cmd().equals("REXEC-STA") && m.actarg().equals(id)).actname()).isEqualTo("blink");
            d.send(FogBroker.MACHINE_ACK, "REPORT-REP", "FIN", "blink", id, "r1", "blinked twice");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> callResults.size() == 1);
        JsonNode content = JSON.readTree(callResults.get(0).contentData());
        assertThat(content.get("timedOut").asBoolean()).isFalse(); // every registered device answered
        assertThat(content.get("results")).hasSize(2);
        assertThat(callResults.get(0).publisher()).isEqualTo(MessageRouter.DEVICE_GATEWAY);
    }

    @Test
    void withoutCredentialsOrWithWrongOnesNoDeviceGetsIn() {
        assertThatThrownBy(() -> new Device("anonymous", null, null)).isInstanceOf(MqttException.class);
        assertThatThrownBy(() -> new Device("guesser", "thermo-app", "guess")).isInstanceOf(MqttException.class);
    }

    @Test
    void aDeviceWhoseConnectionDropsDepartsAndItsSerialIsNewAgain() throws Exception {
        Device watcher = new Device("watcher", "thermo-app", "s3cret");
        Device d = new Device("sensor-2", "thermo-app", "s3cret");
        String first = d.register("serial-2");
        d.client.disconnectForcibly(0, 0, false); // no DISCONNECT: the broker publishes its will
        await().atMost(Duration.ofSeconds(10)).until(() -> JSON.valueToTree(gateway.status().figures())
                .path("departures").asInt() == 1);
        watcher.heard.clear(); // it heard the first device's REGISTER-ACK too (a broadcast)
        String second = watcher.register("serial-2");
        assertThat(second).isNotEqualTo(first);
    }

    @Test
    void aDeviceThatDisconnectsCleanlyStaysRegistered() throws Exception {
        Device d = new Device("sensor-5", "thermo-app", "s3cret");
        String id = d.register("serial-5");
        d.client.disconnect(); // a DISCONNECT: no last will, no departure (devices that connect only to send)
        Device again = new Device("sensor-5", "thermo-app", "s3cret");
        again.send(FogBroker.FUNC_REQUEST, "REXEC-SYN", "-", "temperature", "d1", id, "porch");
        assertThat(again.await(m -> m.cmd().equals("REXEC-ACK")).actarg()).isEqualTo(id);
        assertThat(JSON.valueToTree(gateway.status().figures()).path("departures").asInt()).isZero();
    }

    @Test
    void floodsAndOversizedOrMalformedPayloadsHarmNobody() throws Exception {
        Device flooder = new Device("flooder", "thermo-app", "s3cret");
        for (int i = 0; i < 2_000; i++) {
            flooder.client.publish(FogBroker.FUNC_REQUEST, new byte[] {(byte) 0xbf, (byte) i}, 0, false);
        }
        // Each one counted: ignored as malformed, or dropped over the client's rate.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode f = JSON.valueToTree(gateway.status().figures());
            assertThat(f.path("ignored.malformed").asLong() + f.path("dropped.rate").asLong()).as("every flood message counted")
                    .isEqualTo(2_000);
        });
        assertThat(JSON.valueToTree(gateway.status().figures()).path("dropped.rate").asLong()).isPositive();
        // Over maxMessageBytes: the broker drops that client; the gateway goes on.
        try {
            flooder.client.publish(FogBroker.FUNC_REQUEST, new byte[10_000], 1, false);
        } catch (MqttException expected) {
            // the connection is closed under it
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !flooder.client.isConnected());
        Device d = new Device("sensor-3", "thermo-app", "s3cret");
        String id = d.register("serial-3");
        d.send(FogBroker.FUNC_REQUEST, "REXEC-SYN", "-", "temperature", "f1", id, "hall");
        assertThat(d.await(m -> m.cmd().equals("REXEC-ACK")).actid()).isEqualTo("f1");
    }

    @Test
    void overTlsDevicesNeedTheAuthoritysClientCertificateAsWellAsTheirCredentials() throws Exception {
        keytool("-genkeypair", "-alias", "gateway", "-keyalg", "EC", "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1",
                "-validity", "2", "-keystore", dir.resolve("gateway.p12").toString(), "-storetype", "PKCS12", "-storepass", "changeit");
        keytool("-exportcert", "-rfc", "-alias", "gateway", "-keystore", dir.resolve("gateway.p12").toString(),
                "-storepass", "changeit", "-file", dir.resolve("gateway.pem").toString());
        keytool("-genkeypair", "-alias", "device", "-keyalg", "EC", "-dname", "CN=thermo-app", "-validity", "2",
                "-keystore", dir.resolve("device.p12").toString(), "-storetype", "PKCS12", "-storepass", "changeit");
        keytool("-exportcert", "-rfc", "-alias", "device", "-keystore", dir.resolve("device.p12").toString(),
                "-storepass", "changeit", "-file", dir.resolve("device.pem").toString());
        int tlsPort;
        try (ServerSocket s = new ServerSocket(0)) {
            tlsPort = s.getLocalPort();
        }
        gateway.modified(config(DeviceGatewayConfig.class, Map.of("host", "127.0.0.1", "port", port,
                "passwordFile", dir.resolve("passwd").toString(), "tlsPort", tlsPort,
                "tlsKeyStore", dir.resolve("gateway.p12").toString(), "tlsKeyStorePassword", "changeit",
                "tlsTrustedClients", dir.resolve("device.pem").toString())));
        await().atMost(Duration.ofSeconds(10)).until(() -> gateway.status().state() == org.iofog.agent.api.status.HealthState.RUNNING);

        Device d = new Device("ssl://127.0.0.1:" + tlsPort, tls(true), "tls-sensor", "thermo-app", "s3cret");
        assertThat(d.register("tls-serial")).isNotBlank();
        // No client certificate: the handshake fails; with it but wrong credentials: refused.
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Device("ssl://127.0.0.1:" + tlsPort, tls(false),
                "no-cert", "thermo-app", "s3cret")).isInstanceOf(MqttException.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Device("ssl://127.0.0.1:" + tlsPort, tls(true),
                "bad-password", "thermo-app", "wrong")).isInstanceOf(MqttException.class);
    }

    /** Trusts the gateway's certificate; presents the device's when {@code withCertificate}. */
    private javax.net.ssl.SSLSocketFactory tls(boolean withCertificate) throws Exception {
        java.security.KeyStore trusted = java.security.KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        try (var in = Files.newInputStream(dir.resolve("gateway.pem"))) {
            trusted.setCertificateEntry("gateway", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trusted);
        javax.net.ssl.KeyManager[] keys = null;
        if (withCertificate) {
            java.security.KeyStore device = java.security.KeyStore.getInstance("PKCS12");
            try (var in = Files.newInputStream(dir.resolve("device.p12"))) {
                device.load(in, "changeit".toCharArray());
            }
            javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
                    javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(device, "changeit".toCharArray());
            keys = kmf.getKeyManagers();
        }
        javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
        context.init(keys, tmf.getTrustManagers(), null);
        return context.getSocketFactory();
    }

    private static void keytool(String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("keytool: " + out).isZero();
    }

    @Test
    void onTwoAddressesDevicesOfBothAreServedAndHearTheBroadcasts() throws Exception {
        gateway.modified(config(DeviceGatewayConfig.class, Map.of("host", "127.0.0.1, 127.0.0.2", "port", port,
                "passwordFile", dir.resolve("passwd").toString())));
        await().atMost(Duration.ofSeconds(10)).until(() -> gateway.status().state() == org.iofog.agent.api.status.HealthState.RUNNING);
        assertThat(gateway.status().detail()).startsWith("MQTT 127.0.0.1, 127.0.0.2 port " + port);
        Device one = new Device("tcp://127.0.0.1:" + port, null, "same-name", "thermo-app", "s3cret");
        Device two = new Device("tcp://127.0.0.2:" + port, null, "same-name", "thermo-app", "s3cret");
        String id = two.register("serial-on-two");
        // The broadcast of two's registration reaches the device on the other address.
        one.await(m -> m.cmd().equals("REGISTER-ACK") && m.actarg().equals("serial-on-two"));
        two.send(FogBroker.FUNC_REQUEST, "REXEC-SYN", "-", "temperature", "t2", id, "attic");
        assertThat(two.await(m -> m.cmd().equals("REXEC-ACK")).actid()).isEqualTo("t2");
        assertThat(gateway.status().figures().get("clientsConnected")).isEqualTo(2);
        // The same client id on the other address is another client: its loss does not depart two's device.
        one.client.disconnectForcibly(0, 100, false); // no DISCONNECT: a lost connection, its will published
        Thread.sleep(1000);
        assertThat(gateway.status().figures().get("devicesRegistered")).isEqualTo(1);
    }

    @Test
    void aNewConfigurationRestartsTheEndpointWithANewBrokerSerial() throws Exception {
        String before = (String) gateway.status().figures().get("brokerSerial");
        gateway.modified(config(DeviceGatewayConfig.class, Map.of("host", "127.0.0.1", "port", port,
                "passwordFile", dir.resolve("passwd").toString(), "broadcastEncoding", "JSON")));
        Device d = new Device("sensor-4", "thermo-app", "s3cret");
        DeviceMessage reboot = d.await(m -> m.cmd().equals("REBOOT"));
        assertThat(reboot.actname()).isNotEqualTo(before).isEqualTo(gateway.status().figures().get("brokerSerial"));
        assertThat(reboot.encoding()).isEqualTo(DeviceMessage.Encoding.JSON);
    }
}
