package org.iofog.agent.devices.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.iofog.sdk.message.IoMessage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The protocol of docs/device-gateway.md, device side and microservice side, with a clock the test drives. */
class FogBrokerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private record Sent(String topic, DeviceMessage message) {
    }
    private record Called(String microservice, IoMessage message) {
    }

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final List<Sent> toDevices = new ArrayList<>();
    private final List<Called> toMicroservices = new ArrayList<>();
    private boolean routerUp = true;
    /** The microservice answers within the send, on the same thread (as the router may deliver). */
    private boolean answerAtOnce;
    private FogBroker broker;

    @BeforeEach
    void start() {
        broker = newBroker();
    }

    private FogBroker newBroker() {
        FogBroker b = new FogBroker(new FogBroker.Settings(30_000, 5_000, 300_000, 100, 60_000, 0, 1000,
                List.of("fog-a=10.0.0.1", "", "fog-b=10.0.0.2"), DeviceMessage.Encoding.CBOR, Map.of("type", "fog", "load", 0.5)),
                (topic, m) -> toDevices.add(new Sent(topic, m)),
                (ms, m) -> {
                    if (!routerUp) {
                        throw new IllegalStateException("no router");
                    }
                    toMicroservices.add(new Called(ms, m));
                    if (answerAtOnce) {
                        broker.fromMicroservice(result(ms, new String(m.contextData(), StandardCharsets.UTF_8), "{\"value\":7}"));
                    }
                }, now::get);
        b.activities(Map.of("temperature", new Activity("temperature", "thermostat", List.of("number", "string"), 500),
                "blink", new Activity("blink", "led", List.of(), 200)));
        return b;
    }

    private static byte[] cbor(String cmd, String opt, String actname, String actid, String actarg, Object... args) {
        return DeviceMessageCodec.encode(DeviceMessage.of(cmd, opt, actname, actid, actarg, List.of(args), DeviceMessage.Encoding.CBOR));
    }

    private static byte[] json(String cmd, String opt, String actname, String actid, String actarg, Object... args) {
        return DeviceMessageCodec.encode(DeviceMessage.of(cmd, opt, actname, actid, actarg, List.of(args), DeviceMessage.Encoding.JSON));
    }

    private Sent last() {
        return toDevices.get(toDevices.size() - 1);
    }

    private String register(String client, String serial) {
        broker.fromDevice(client, FogBroker.ADMIN_REQUEST, cbor("REGISTER", "DEVICE", "thermo-app", "_", serial));
        Sent ack = last();
        assertThat(ack.topic()).isEqualTo(FogBroker.ADMIN_ANNOUNCE);
        return ack.message().actid();
    }

    @Test
    void aNewSerialIsRegisteredOnceAndATakenOneIsOldUntilItsDeviceLeaves() {
        String id = register("client-1", "serial-1");
        DeviceMessage ack = last().message();
        assertThat(ack.cmd()).isEqualTo("REGISTER-ACK");
        assertThat(ack.opt()).isEqualTo("NEW");
        assertThat(ack.actname()).isEqualTo(broker.brokerSerial());
        assertThat(ack.actarg()).isEqualTo("serial-1");
        assertThat(toDevices).hasSize(1);

        broker.fromDevice("client-2", FogBroker.ADMIN_REQUEST, cbor("REGISTER", "DEVICE", "thermo-app", "_", "serial-1"));
        assertThat(last().message().opt()).isEqualTo("OLD");
        assertThat(last().message().actid()).isEqualTo(id);

        broker.clientGone("client-1"); // its last will
        broker.fromDevice("client-2", FogBroker.ADMIN_REQUEST, cbor("REGISTER", "DEVICE", "thermo-app", "_", "serial-1"));
        assertThat(last().message().opt()).isEqualTo("NEW");
        assertThat(last().message().actid()).isNotEqualTo(id);
        assertThat(broker.figures()).containsEntry("devicesRegistered", 1).containsEntry("departures", 1L);
    }

    @Test
    void aRestartAnnouncesANewBrokerSerialAndForgetsOldCalls() {
        broker.tick();
        DeviceMessage reboot = last().message();
        assertThat(reboot.cmd()).isEqualTo("REBOOT");
        assertThat(reboot.opt()).isEqualTo("BROKER");
        assertThat(reboot.actname()).isEqualTo(broker.brokerSerial());
        now.addAndGet(1_000);
        broker.tick();
        assertThat(toDevices).hasSize(1); // every 5 s
        now.addAndGet(4_000);
        broker.tick();
        assertThat(toDevices).hasSize(2);
        now.addAndGet(60_000);
        broker.tick();
        assertThat(toDevices).hasSize(2); // only for 30 s after the start

        String id = register("c", "s");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-SYN", "-", "temperature", "7", id, 21.5, "C"));
        String before = broker.brokerSerial();
        broker = newBroker();
        broker.tick();
        assertThat(last().message().actname()).isNotEqualTo(before);
        String again = register("c", "s");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-RES", "GET", "temperature", "7", again));
        assertThat(last().message().actarg()).isEqualTo("COMPLETE-ERR");
        assertThat(last().message().args()).containsExactly("NOT-FOUND");
    }

    @Test
    void everyRefusalIsANakOnTheDevicesReplyTopic() {
        String id = register("c", "s");
        String reply = FogBroker.FUNC_REPLY + id;
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-SYN", "-", "temperature", "1", "nobody", 1, "C"));
        assertThat(last().topic()).isEqualTo(FogBroker.FUNC_REPLY + "nobody");
        assertThat(last().message().args()).containsExactly("NOT-REGISTERED");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-SYN", "-", "humidity", "2", id));
        assertThat(last()).satisfies(s -> {
            assertThat(s.topic()).isEqualTo(reply);
            assertThat(s.message().cmd()).isEqualTo("REXEC-NAK");
            assertThat(s.message().actid()).isEqualTo("2");
            assertThat(s.message().args()).containsExactly("NOT-FOUND");
        });
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-SYN", "-", "temperature", "3", id, "warm", "C"));
        assertThat(last().message().args()).containsExactly("ILLEGAL-PARAMS");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-SYN", "node.load > 4", "temperature", "4", id, 1, "C"));
        assertThat(last().message().args()).containsExactly("CONDITION-FALSE");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-SYN", "node.load >", "temperature", "5", id, 1, "C"));
        assertThat(last().message().args()).containsExactly("ILLEGAL-PARAMS");
        // Not an expression language for scripts: no method calls, no object creation.
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-SYN", "''.getClass().forName('java.lang.Runtime') != null",
                "temperature", "6", id, 1, "C"));
        assertThat(last().message().args()).containsExactly("ILLEGAL-PARAMS");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-ASY", "-", "humidity", "7", id));
        assertThat(last().message().opt()).isEqualTo("ASY");
        assertThat(last().message().args()).containsExactly("NOT-FOUND");
        assertThat(toMicroservices).isEmpty();
        assertThat(toDevices.stream().filter(s -> s.topic().equals(FogBroker.ADMIN_ANNOUNCE))).hasSize(1); // only the REGISTER-ACK
        assertThat(broker.figures()).containsEntry("naks.ILLEGAL-PARAMS", 3L).containsEntry("naks.CONDITION-FALSE", 1L);
    }

    @Test
    void aSynchronousCallIsAcknowledgedWithItsLeaseThenAnsweredByTheMicroservice() throws Exception {
        String id = register("c", "s");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST,
                cbor("REXEC-SYN", "node.type == 'fog' && device.app == 'thermo-app'", "temperature", "42", id, 21.5, "C"));
        DeviceMessage ack = last().message();
        assertThat(ack.cmd()).isEqualTo("REXEC-ACK");
        assertThat(ack.actname()).isEqualTo("ACTIVITY");
        assertThat(ack.actid()).isEqualTo("42");
        assertThat(ack.actarg()).isEqualTo(id);
        assertThat(ack.args()).containsExactly(500L);

        Called call = toMicroservices.get(0);
        assertThat(call.microservice()).isEqualTo("thermostat");
        assertThat(call.message().infoType()).isEqualTo("jam/rexec");
        var context = JSON.readTree(call.message().contextData());
        assertThat(context.get("actid").asText()).isEqualTo("42");
        assertThat(context.get("device").asText()).isEqualTo(id);
        assertThat(JSON.readTree(call.message().contentData()).toString()).isEqualTo("[21.5,\"C\"]");

        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-RES", "GET", "temperature", "42", id));
        assertThat(last().message().actarg()).isEqualTo("LEASE-EXT");
        assertThat(broker.figures()).containsEntry("callsInFlight", 1L);

        // Only the microservice that serves the activity may answer it.
        broker.fromMicroservice(result("led", context.toString(), "{\"value\":1}"));
        broker.fromMicroservice(result("thermostat", context.toString(), "{\"value\":{\"celsius\":21.5}}"));
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-RES", "GET", "temperature", "42", id));
        DeviceMessage put = last().message();
        assertThat(put.cmd()).isEqualTo("REXEC-RES");
        assertThat(put.opt()).isEqualTo("PUT");
        assertThat(put.actid()).isEqualTo("42");
        assertThat(put.actarg()).isEqualTo("COMPLETE-SUC");
        assertThat(put.args()).containsExactly(Map.of("celsius", 21.5));
        assertThat(broker.figures()).containsEntry("ignored.unexpectedResult", 1L);

        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-RES", "GET", "temperature", "unknown", id));
        assertThat(last().message().actarg()).isEqualTo("COMPLETE-ERR");
        assertThat(last().message().args()).containsExactly("NOT-FOUND");
    }

    private static IoMessage result(String publisher, String context, String content) {
        return IoMessage.builder().publisher(publisher).infoType("jam/result").infoFormat("json")
                .contextData(context.getBytes(StandardCharsets.UTF_8)).contentData(content.getBytes(StandardCharsets.UTF_8)).build();
    }

    @Test
    void aResultThatComesBackWithinTheCallIsKept() {
        String id = register("c", "s");
        answerAtOnce = true;
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-SYN", "-", "temperature", "r1", id, 1, "C"));
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-RES", "GET", "temperature", "r1", id));
        assertThat(last().message().actarg()).isEqualTo("COMPLETE-SUC");
        assertThat(last().message().args()).containsExactly(7);
    }

    @Test
    void theSameActidTwiceRunsOnceAndAnErrorIsCompleteErr() throws Exception {
        String id = register("c", "s");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, json("REXEC-SYN", "-", "temperature", "9", id, 1, "C"));
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, json("REXEC-SYN", "-", "temperature", "9", id, 1, "C"));
        assertThat(toMicroservices).hasSize(1);
        assertThat(last().message().cmd()).isEqualTo("REXEC-ACK");
        assertThat(last().message().encoding()).isEqualTo(DeviceMessage.Encoding.JSON); // answered as asked
        broker.fromMicroservice(result("thermostat", JSON.readTree(toMicroservices.get(0).message().contextData()).toString(),
                "{\"error\":\"sensor unplugged\"}"));
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, json("REXEC-RES", "GET", "temperature", "9", id));
        assertThat(last().message().actarg()).isEqualTo("COMPLETE-ERR");
        assertThat(last().message().args()).containsExactly("sensor unplugged");
    }

    @Test
    void anAsynchronousCallIsAcknowledgedAndKeepsNoResult() throws Exception {
        String id = register("c", "s");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-ASY", "-", "blink", "b1", id));
        assertThat(last().message().cmd()).isEqualTo("REXEC-ACK");
        assertThat(last().message().opt()).isEqualTo("ASY");
        assertThat(JSON.readTree(toMicroservices.get(0).message().contextData()).get("mode").asText()).isEqualTo("async");
        broker.fromMicroservice(result("led", JSON.readTree(toMicroservices.get(0).message().contextData()).toString(), "{\"value\":1}"));
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-RES", "GET", "blink", "b1", id));
        assertThat(last().message().args()).containsExactly("NOT-FOUND");
    }

    @Test
    void killingARunningCallIsAcknowledgedAndAFinishedOneIgnored() throws Exception {
        String id = register("c", "s");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-SYN", "-", "temperature", "k1", id, 1, "C"));
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("RKILL", "DEVICE", "temperature", "k1", id));
        assertThat(last().message().cmd()).isEqualTo("RKILL-ACK");
        assertThat(toMicroservices.get(1).message().infoType()).isEqualTo("jam/kill");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("RKILL", "DEVICE", "temperature", "k1", id));
        assertThat(last().message().cmd()).isEqualTo("RKILL-IGN");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-RES", "GET", "temperature", "k1", id));
        assertThat(last().message().args()).containsExactly("KILLED");
    }

    @Test
    void aCallWithoutAResultTimesOutAndResultsAreEvicted() {
        String id = register("c", "s");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-SYN", "-", "temperature", "t1", id, 1, "C"));
        now.addAndGet(61_000);
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-RES", "GET", "temperature", "t1", id));
        assertThat(last().message().args()).containsExactly("TIMEOUT");
        now.addAndGet(301_000);
        broker.tick();
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-RES", "GET", "temperature", "t1", id));
        assertThat(last().message().args()).containsExactly("NOT-FOUND");
    }

    @Test
    void withoutARouterACallIsRefusedNotLost() {
        String id = register("c", "s");
        routerUp = false;
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-SYN", "-", "temperature", "u1", id, 1, "C"));
        assertThat(last().message().cmd()).isEqualTo("REXEC-NAK");
        assertThat(last().message().args()).containsExactly("UNAVAILABLE");
        routerUp = true;
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-SYN", "-", "temperature", "u1", id, 1, "C"));
        assertThat(last().message().cmd()).isEqualTo("REXEC-ACK"); // the same actid may be tried again
    }

    private static IoMessage jamCall(String runId, String policy, int count) {
        String context = "{\"runid\":\"" + runId + "\",\"activity\":\"blink\",\"policy\":\"" + policy + "\",\"count\":" + count
                + ",\"deadline\":2000}";
        return IoMessage.builder().publisher("led").infoType("jam/call").infoFormat("json")
                .contextData(context.getBytes(StandardCharsets.UTF_8)).contentData("[3]".getBytes(StandardCharsets.UTF_8)).build();
    }

    private List<DeviceMessage> announced(String cmd) {
        return toDevices.stream().filter(s -> s.topic().equals(FogBroker.MACHINE_ANNOUNCE) && s.message().cmd().equals(cmd))
                .map(Sent::message).toList();
    }

    @Test
    void aMicroserviceCallsAllDevicesAndGetsWhatCameBackWhenOneIsSilent() throws Exception {
        String a = register("ca", "sa");
        String b = register("cb", "sb");
        register("cc", "sc"); // silent: never says it is ready
        broker.fromMicroservice(jamCall("run-1", "all", 0));
        DeviceMessage call = announced("REXEC-CALL").get(0);
        assertThat(call.actname()).isEqualTo("blink");
        assertThat(call.actid()).isEqualTo("run-1");
        assertThat(call.args()).containsExactly(3);

        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("REXEC-RDY", a, "blink", "x1", "run-1", 500, 9000));
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("REXEC-RDY", b, "blink", "x2", "run-1", 500, 9000));
        assertThat(announced("REXEC-STA")).extracting(DeviceMessage::actarg).containsExactly(a, b);
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "FIN", "blink", a, "run-1", "on"));
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "FIN", "blink", b, "run-1", "off"));
        assertThat(toMicroservices).isEmpty(); // "all" waits for the third device until the deadline
        now.addAndGet(2_001);
        broker.tick();
        Called result = toMicroservices.get(0);
        assertThat(result.microservice()).isEqualTo("led");
        assertThat(result.message().infoType()).isEqualTo("jam/call-result");
        var content = JSON.readTree(result.message().contentData());
        assertThat(content.get("timedOut").asBoolean()).isTrue();
        assertThat(content.get("results").toString()).isEqualTo("[{\"device\":\"" + a + "\",\"value\":\"on\"},{\"device\":\""
                + b + "\",\"value\":\"off\"}]");
    }

    private static IoMessage syncCall(String runId, String extra) {
        String context = "{\"runid\":\"" + runId + "\",\"activity\":\"blink\",\"mode\":\"sync\",\"timeLimit\":10000" + extra + "}";
        return IoMessage.builder().publisher("led").infoType("jam/call").infoFormat("json")
                .contextData(context.getBytes(StandardCharsets.UTF_8)).contentData("[3]".getBytes(StandardCharsets.UTF_8)).build();
    }

    @Test
    void aSynchronisedCallStartsTheMostDevicesAtTheSoonestTimeWithBackups() throws Exception {
        String a = register("ca", "sa");
        String b = register("cb", "sb");
        String c = register("cc", "sc");
        broker.fromMicroservice(syncCall("sync-1", ""));
        DeviceMessage request = announced("REQ-SYN").get(0);
        assertThat(request.opt()).isEqualTo("led");
        assertThat(request.actname()).isEqualTo("blink");
        assertThat(request.actid()).isEqualTo("sync-1");
        assertThat(request.args()).containsExactly(1_010_000L);

        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("AGREE-SYN", a, "blink", "sync-1", "_", List.of(1_002_000, 1_005_000)));
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("AGREE-SYN", b, "blink", "sync-1", "_", List.of(1_003_000, 1_009_000)));
        assertThat(announced("SYNC-SCHED")).isEmpty(); // c has not answered, and the offers are still open
        broker.fromDevice("cc", FogBroker.MACHINE_ACK, cbor("AGREE-SYN", c, "blink", "sync-1", "_",
                List.of(1_000_500, 1_001_000), List.of(1_004_000, 1_004_500)));

        // All three can start at 1,004,000; a and b at 1,003,000; alone, c soonest at 1,000,500.
        List<DeviceMessage> schedules = announced("SYNC-SCHED");
        assertThat(schedules).extracting(DeviceMessage::opt).containsExactly("PRI", "BAK", "BAK");
        assertThat(schedules.get(0).args()).containsExactly(1_004_000L, List.of(a, b, c), List.of(3));
        assertThat(schedules.get(1).args()).containsExactly(1_003_000L, List.of(a, b), List.of(3));
        assertThat(schedules.get(2).args()).containsExactly(1_000_500L, List.of(c), List.of(3));

        now.set(1_004_200);
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "FIN", "blink", a, "sync-1", "on"));
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "FIN", "blink", b, "sync-1", "on"));
        assertThat(toMicroservices).isEmpty();
        broker.fromDevice("cc", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "FIN", "blink", c, "sync-1", "off"));
        var content = JSON.readTree(toMicroservices.get(0).message().contentData());
        assertThat(content.get("synchronised").asBoolean()).isTrue();
        assertThat(content.get("start").asLong()).isEqualTo(1_004_000);
        assertThat(content.get("participants").toString()).isEqualTo("[\"" + a + "\",\"" + b + "\",\"" + c + "\"]");
        assertThat(content.get("results")).hasSize(3);
        assertThat(content.get("schedulesTried").asInt()).isEqualTo(1);
    }

    @Test
    void failuresPastTheThresholdMoveToABackupAndWithNoneLeftTheCallerIsTold() throws Exception {
        String a = register("ca", "sa");
        String b = register("cb", "sb");
        broker.fromMicroservice(syncCall("sync-2", ",\"backups\":1"));
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("AGREE-SYN", a, "blink", "sync-2", "_", List.of(1_002_000, 1_006_000)));
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("AGREE-SYN", b, "blink", "sync-2", "_",
                List.of(1_002_000, 1_002_500), List.of(1_005_000, 1_006_000)));
        assertThat(announced("SYNC-SCHED")).extracting(m -> m.opt() + " " + m.args().get(0))
                .containsExactly("PRI 1002000", "BAK 1005000");

        // b fails on the primary: the backup becomes the primary.
        now.set(1_002_100);
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "ERR", "blink", b, "sync-2", "stuck"));
        assertThat(announced("SYNC-SCHED")).extracting(m -> m.opt() + " " + m.args().get(0))
                .containsExactly("PRI 1002000", "BAK 1005000", "PRI 1005000");
        // A late report for the abandoned schedule is not taken for the new one's.
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "FIN", "blink", a, "sync-2", "late"));
        now.set(1_005_500);
        broker.tick();
        assertThat(toMicroservices).isEmpty(); // the backup's reports are not due yet

        // Nobody reports on the backup either: with no schedule left, the caller is told.
        now.set(1_006_001);
        broker.tick();
        var content = JSON.readTree(toMicroservices.get(0).message().contentData());
        assertThat(content.get("synchronised").asBoolean()).isFalse();
        assertThat(content.get("reason").asText()).startsWith("every schedule failed");
        assertThat(content.get("results")).isEmpty();
        assertThat(broker.figures()).containsEntry("sync.failovers", 2L).containsEntry("runsInFlight", 0);
    }

    @Test
    void aSynchronisationNobodyCanJoinFailsAtOnceOrWhenTheOffersCloseAndWithinTheThresholdItCompletes() throws Exception {
        String a = register("ca", "sa");
        broker.fromMicroservice(syncCall("sync-3", ""));
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("REJECT-SYN", a, "blink", "sync-3", "_"));
        var refused = JSON.readTree(toMicroservices.get(0).message().contentData());
        assertThat(refused.get("synchronised").asBoolean()).isFalse();
        assertThat(refused.get("reason").asText()).isEqualTo("no device can start within the time limit");

        broker.fromMicroservice(syncCall("sync-4", ",\"collect\":500"));
        now.addAndGet(501);
        broker.tick();
        var silent = JSON.readTree(toMicroservices.get(1).message().contentData());
        assertThat(silent.get("reason").asText()).isEqualTo("no device answered");

        // One failure tolerated: a's error does not move the schedule; b's result completes it.
        String b = register("cb", "sb");
        long t = now.get();
        broker.fromMicroservice(syncCall("sync-5", ",\"failureThreshold\":1"));
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("AGREE-SYN", a, "blink", "sync-5", "_", List.of(t + 100, t + 200)));
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("AGREE-SYN", b, "blink", "sync-5", "_", List.of(t + 150, t + 300)));
        now.set(t + 160);
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "ERR", "blink", a, "sync-5", "low battery"));
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "FIN", "blink", b, "sync-5", "done"));
        var tolerated = JSON.readTree(toMicroservices.get(2).message().contentData());
        assertThat(tolerated.get("synchronised").asBoolean()).isTrue();
        assertThat(tolerated.get("start").asLong()).isEqualTo(t + 150);
        assertThat(tolerated.get("results").toString()).isEqualTo("[{\"device\":\"" + b + "\",\"value\":\"done\"}]");
    }

    @Test
    void theSdksSynchronisedCallRoundTripsThroughTheBroker() throws Exception {
        String a = register("ca", "sa");
        String b = register("cb", "sb");
        org.iofog.sdk.devices.DeviceActivities sdk = new org.iofog.sdk.devices.DeviceActivities();
        // The microservice "led" publishes through the router to the gateway (here: at once).
        sdk.answerWith(m -> broker.fromMicroservice(m.toBuilder().publisher("led").build()));
        var result = sdk.synchronise("blink", List.of(3), java.time.Duration.ofSeconds(5), java.time.Duration.ofMillis(400), 0);
        String runId = announced("REQ-SYN").get(0).actid();
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("AGREE-SYN", a, "blink", runId, "_", List.of(1_001_000, 1_003_000)));
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("AGREE-SYN", b, "blink", runId, "_", List.of(1_002_000, 1_002_100)));
        now.set(1_002_050);
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "FIN", "blink", a, runId, 1));
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "FIN", "blink", b, runId, 2));
        // The gateway's answer goes back to the microservice, whose SDK reads it.
        assertThat(sdk.handle(toMicroservices.get(0).message())).isTrue();
        var done = result.get(1, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(done.synchronised()).isTrue();
        assertThat(done.start()).isEqualTo(1_002_000);
        assertThat(done.participants()).containsExactly(a, b);
        assertThat(done.results()).extracting(r -> r.device() + "=" + r.value()).containsExactly(a + "=1", b + "=2");
        sdk.close();
    }

    @Test
    void aStartedDeviceSilentPastItsLeaseIsAskedForAReport() throws Exception {
        String a = register("ca", "sa");
        broker.fromMicroservice(jamCall("run-r", "first", 1));
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("REXEC-RDY", a, "blink", "z1", "run-r", 500, 9000));
        now.addAndGet(400);
        broker.tick();
        assertThat(announced("REPORT-REQ")).isEmpty(); // its 500 ms lease runs
        now.addAndGet(200);
        broker.tick();
        DeviceMessage ask = announced("REPORT-REQ").get(0);
        assertThat(List.of(ask.opt(), ask.actname(), ask.actid(), ask.actarg())).containsExactly("FOG", "blink", a, "run-r");

        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "LEASE-EXT", "blink", a, "run-r", 800));
        now.addAndGet(500);
        broker.tick();
        assertThat(announced("REPORT-REQ")).hasSize(1); // the lease was extended
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "COMPLETE-ERR", "blink", a, "run-r", "battery"));
        var content = JSON.readTree(toMicroservices.get(0).message().contentData());
        assertThat(content.get("timedOut").asBoolean()).isFalse();
        assertThat(content.get("results").toString()).isEqualTo("[{\"device\":\"" + a + "\",\"value\":{\"error\":\"battery\"}}]");
        assertThat(broker.figures()).containsEntry("runs.reportRequests", 1L).containsEntry("runs.leaseExtensions", 1L);
    }

    @Test
    void theFirstPolicyStartsOnlyAsManyDevicesAsAskedAndAnswersAtOnce() throws Exception {
        String a = register("ca", "sa");
        String b = register("cb", "sb");
        broker.fromMicroservice(jamCall("run-2", "first", 1));
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("REXEC-RDY", b, "blink", "y2", "run-2", 500, 9000));
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("REXEC-RDY", a, "blink", "y1", "run-2", 500, 9000));
        assertThat(announced("REXEC-STA")).extracting(DeviceMessage::actarg).containsExactly(b);
        assertThat(announced("REXEC-QUI")).extracting(DeviceMessage::actarg).containsExactly(a);
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "FIN", "blink", a, "run-2", "not chosen"));
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "FIN", "blink", b, "run-2", 42));
        var content = JSON.readTree(toMicroservices.get(0).message().contentData());
        assertThat(content.get("timedOut").asBoolean()).isFalse();
        assertThat(content.get("results").toString()).isEqualTo("[{\"device\":\"" + b + "\",\"value\":42}]");
        assertThat(broker.figures()).containsEntry("runsInFlight", 0).containsEntry("ignored.unexpectedReport", 1L);
    }

    @Test
    void aMajorityIsMoreThanHalfTheRegisteredDevices() throws Exception {
        String a = register("ca", "sa");
        String b = register("cb", "sb");
        register("cc", "sc");
        broker.fromMicroservice(jamCall("run-3", "majority", 0));
        for (String d : List.of(a, b)) {
            broker.fromDevice("c", FogBroker.MACHINE_ACK, cbor("REXEC-RDY", d, "blink", "z-" + d, "run-3", 500, 9000));
        }
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "FIN", "blink", a, "run-3", 1));
        assertThat(toMicroservices).isEmpty(); // 1 of 3
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("REPORT-REP", "FIN", "blink", b, "run-3", 2));
        assertThat(JSON.readTree(toMicroservices.get(0).message().contentData()).get("results")).hasSize(2);
    }

    @Test
    void aBroadcastCallIsAcknowledgedByTheDevicesThatRunIt() throws Exception {
        String a = register("ca", "sa");
        String b = register("cb", "sb");
        register("cc", "sc"); // silent
        String context = "{\"runid\":\"run-4\",\"activity\":\"blink\",\"mode\":\"async\",\"deadline\":1000}";
        broker.fromMicroservice(IoMessage.builder().publisher("led").infoType("jam/call").infoFormat("json")
                .contextData(context.getBytes(StandardCharsets.UTF_8)).contentData("[1]".getBytes(StandardCharsets.UTF_8)).build());
        DeviceMessage exec = announced("EXEC-ASY").get(0);
        assertThat(exec.opt()).isEqualTo("led");
        assertThat(exec.actid()).isEqualTo("run-4");
        broker.fromDevice("ca", FogBroker.MACHINE_ACK, cbor("EXEC-ACK", "ASY", "blink", "run-4", a, 300));
        broker.fromDevice("cb", FogBroker.MACHINE_ACK, cbor("EXEC-ACK", "ASY", "blink", "run-4", b, 400));
        now.addAndGet(1_001);
        broker.tick();
        var content = JSON.readTree(toMicroservices.get(0).message().contentData());
        assertThat(content.get("timedOut").asBoolean()).isTrue();
        assertThat(content.get("results")).hasSize(2);
    }

    @Test
    void theCallerKillsItsRunAndTheDevicesAreToldToStop() throws Exception {
        register("ca", "sa");
        broker.fromMicroservice(jamCall("run-5", "all", 0));
        IoMessage kill = IoMessage.builder().publisher("other").infoType("jam/call-kill")
                .contextData("{\"runid\":\"run-5\"}".getBytes(StandardCharsets.UTF_8)).build();
        broker.fromMicroservice(kill); // not the caller's
        assertThat(announced("RKILL")).isEmpty();
        broker.fromMicroservice(kill.toBuilder().publisher("led").build());
        DeviceMessage rkill = announced("RKILL").get(0);
        assertThat(rkill.opt()).isEqualTo("FOG");
        assertThat(rkill.actarg()).isEqualTo("run-5");
        assertThat(JSON.readTree(toMicroservices.get(0).message().contentData()).get("killed").asBoolean()).isTrue();
        assertThat(broker.figures()).containsEntry("runsInFlight", 0);
    }

    @Test
    void aDeviceAsksForAReportOfItsCall() {
        String id = register("c", "s");
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REXEC-SYN", "-", "temperature", "p1", id, 1, "C"));
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REPORT-REQ", "DEVICE", "temperature", "p1", id));
        DeviceMessage report = last().message();
        assertThat(report.cmd()).isEqualTo("REPORT-REP");
        assertThat(report.opt()).isEqualTo("LEASE-EXT");
        assertThat(report.actid()).isEqualTo("p1");
        assertThat(report.args()).containsExactly(500L);
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, cbor("REPORT-REQ", "DEVICE", "temperature", "unknown", id));
        assertThat(last().message().opt()).isEqualTo("COMPLETE-ERR");
        assertThat(last().message().args()).containsExactly("NOT-FOUND");
    }

    @Test
    void discoveryNeverListsTheAsker() {
        broker.fromDevice("fog-client", FogBroker.ADMIN_REQUEST, cbor("DISCOVER", "FOG", "thermo-app", "fog-a", "id-a"));
        DeviceMessage found = last().message();
        assertThat(found.cmd()).isEqualTo("FOUND");
        assertThat(found.opt()).isEqualTo("CLOUD");
        assertThat(found.actarg()).isEqualTo("id-a");
        assertThat(found.args()).containsExactly("fog-b=10.0.0.2");
    }

    @Test
    void malformedPayloadsAreIgnoredAndCounted() {
        broker.fromDevice("c", FogBroker.ADMIN_REQUEST, new byte[] {(byte) 0xff, 0x00, 0x13});
        broker.fromDevice("c", FogBroker.ADMIN_REQUEST, "{not json".getBytes(StandardCharsets.UTF_8));
        broker.fromDevice("c", FogBroker.ADMIN_REQUEST, "{\"opt\":\"DEVICE\"}".getBytes(StandardCharsets.UTF_8));
        broker.fromDevice("c", FogBroker.ADMIN_REQUEST, "[1,2]".getBytes(StandardCharsets.UTF_8));
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, "{\"cmd\":\"REXEC-SYN\",\"args\":5}".getBytes(StandardCharsets.UTF_8));
        broker.fromDevice("c", FogBroker.FUNC_REQUEST, "{\"cmd\":\"REXEC-SYN\",\"actid\":{\"a\":1}}".getBytes(StandardCharsets.UTF_8));
        broker.fromDevice("c", FogBroker.ADMIN_REQUEST, new byte[0]);
        assertThat(toDevices).isEmpty();
        assertThat(broker.figures()).containsEntry("ignored.malformed", 7L);
    }

    @Test
    void unknownKeysAreIgnoredAndNumericIdsRead() {
        broker.fromDevice("c", FogBroker.ADMIN_REQUEST,
                "{\"cmd\":\"REGISTER\",\"opt\":\"DEVICE\",\"actname\":\"app\",\"actid\":\"_\",\"actarg\":12345,\"extra\":[1]}"
                        .getBytes(StandardCharsets.UTF_8));
        assertThat(last().message().opt()).isEqualTo("NEW");
        assertThat(last().message().actarg()).isEqualTo("12345");
    }
}
