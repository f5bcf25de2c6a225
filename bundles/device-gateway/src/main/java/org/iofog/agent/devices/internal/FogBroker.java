package org.iofog.agent.devices.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import org.iofog.sdk.message.IoMessage;

/**
 * The fog broker's side of the device protocol (docs/device-gateway.md): registrations,
 * device calls of activities (C to J) carried out by microservices through ioMessages,
 * results, leases, duplicates, kills and discovery. Transport-free: devices' payloads come
 * in through {@link #fromDevice}, what goes to devices leaves through {@link Devices}, what
 * goes to microservices through {@link Microservices}; time is a supplier, so tests drive
 * it. Device state is soft (memory only, by design): a new {@code broker_serial} at every
 * start tells devices to register again. All methods are called under the object's lock.
 */
final class FogBroker {

    static final String ADMIN_REQUEST = "/admin/request/all";
    static final String ADMIN_ANNOUNCE = "/admin/announce/all";
    static final String FUNC_REQUEST = "/level/func/request";
    static final String FUNC_REPLY = "/level/func/reply/";
    static final String REXEC_TYPE = "jam/rexec";
    static final String RESULT_TYPE = "jam/result";
    static final String KILL_TYPE = "jam/kill";
    static final String MACHINE_ANNOUNCE = "/machine/func/announce";
    static final String MACHINE_ACK = "/machine/func/ack";
    static final String CALL_TYPE = "jam/call";
    static final String CALL_RESULT_TYPE = "jam/call-result";
    static final String CALL_KILL_TYPE = "jam/call-kill";

    interface Devices {
        void publish(String topic, DeviceMessage message);
    }

    interface Microservices {
        /** Sends to the one microservice; throws when it cannot be made durable (no router). */
        void send(String microservice, IoMessage message) throws Exception;
    }

    /**
     * @param announceMillis how long after a start REBOOT BROKER is repeated
     * @param announceIntervalMillis how often within that period
     * @param resultTtlMillis how long a finished call's result is kept
     * @param maxResults how many calls are remembered at most (the oldest go first)
     * @param maxRunMillis a call without a result after this long completes with error TIMEOUT
     * @param deviceSilenceMillis a device silent this long departs; 0: only its connection ending does
     * @param fogs the fogs discovery answers with, as {@code name=address}
     */
    record Settings(long announceMillis, long announceIntervalMillis, long resultTtlMillis, int maxResults,
                    long maxRunMillis, long deviceSilenceMillis, long defaultLeaseMillis, List<String> fogs,
                    DeviceMessage.Encoding broadcastEncoding, Map<String, Object> node) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    private enum CallState { RUNNING, SUCCEEDED, FAILED }

    private static final class Device {
        final String id;
        final String serial;
        final String app;
        final String client;
        long lastHeardMillis;

        Device(String id, String serial, String app, String client, long now) {
            this.id = id;
            this.serial = serial;
            this.app = app;
            this.client = client;
            this.lastHeardMillis = now;
        }
    }

    private static final class Call {
        final String device;
        final String actid;
        final Activity activity;
        final boolean synchronous;
        final DeviceMessage.Encoding encoding;
        final long startedMillis;
        CallState state = CallState.RUNNING;
        Object value;
        long endedMillis;

        Call(String device, String actid, Activity activity, boolean synchronous, DeviceMessage.Encoding encoding, long now) {
            this.device = device;
            this.actid = actid;
            this.activity = activity;
            this.synchronous = synchronous;
            this.encoding = encoding;
            this.startedMillis = now;
        }
    }

    private final Settings settings;
    private final Devices devices;
    private final Microservices microservices;
    private final LongSupplier clock;
    private final Conditions conditions = new Conditions();
    private final String brokerSerial = HexFormat.of().formatHex(RANDOM.generateSeed(6));
    private final long startedMillis;
    private long lastAnnounceMillis = Long.MIN_VALUE;
    private Map<String, Activity> activities = Map.of();
    private final Map<String, Device> byId = new HashMap<>();
    private final Map<String, Device> bySerial = new HashMap<>();
    /** Calls by device and actid, oldest first. */
    private final LinkedHashMap<String, Call> calls = new LinkedHashMap<>();
    private final Map<String, Long> counters = new TreeMap<>();
    /** Calls of microservices to devices (J to C) under way, by run id. */
    private final Map<String, Run> runs = new LinkedHashMap<>();

    FogBroker(Settings settings, Devices devices, Microservices microservices, LongSupplier clock) {
        this.settings = settings;
        this.devices = devices;
        this.microservices = microservices;
        this.clock = clock;
        this.startedMillis = clock.getAsLong();
    }

    String brokerSerial() {
        return brokerSerial;
    }

    synchronized void activities(Map<String, Activity> next) {
        activities = Map.copyOf(next);
    }

    // ---- from devices ----

    /** One MQTT publish of a device client on a topic the gateway serves. */
    synchronized void fromDevice(String client, String topic, byte[] payload) {
        DeviceMessage m;
        try {
            m = DeviceMessageCodec.decode(payload);
        } catch (DeviceMessageCodec.MalformedMessageException e) {
            count("ignored.malformed");
            return;
        }
        switch (topic) {
            case ADMIN_REQUEST -> {
                switch (m.cmd()) {
                    case "REGISTER" -> register(client, m);
                    case "DISCOVER" -> discover(m);
                    default -> count("ignored.unknownCommand");
                }
            }
            case FUNC_REQUEST -> {
                Device d = byId.get(m.actarg());
                if (d != null) {
                    d.lastHeardMillis = clock.getAsLong();
                }
                switch (m.cmd()) {
                    case "REXEC-SYN" -> execute(m, true);
                    case "REXEC-ASY" -> execute(m, false);
                    case "REXEC-RES" -> result(m, false);
                    case "REPORT-REQ" -> result(m, true);
                    case "RKILL" -> kill(m);
                    default -> count("ignored.unknownCommand");
                }
            }
            case MACHINE_ACK -> {
                switch (m.cmd()) {
                    case "REXEC-RDY" -> ready(m);
                    case "REPORT-REP" -> reported(m);
                    case "EXEC-ACK" -> executing(m);
                    case "AGREE-SYN" -> offered(m, true);
                    case "REJECT-SYN" -> offered(m, false);
                    case "RKILL-ACK", "RKILL-IGN" -> count("runs." + m.cmd());
                    default -> count("ignored.unknownCommand");
                }
            }
            default -> count("ignored.otherTopic");
        }
    }

    /** A device client's connection ended (its last will is due): its devices depart. */
    synchronized void clientGone(String client) {
        List<String> gone = new ArrayList<>();
        byId.values().forEach(d -> {
            if (d.client.equals(client)) {
                gone.add(d.id);
            }
        });
        gone.forEach(this::depart);
    }

    private void depart(String deviceId) {
        Device d = byId.remove(deviceId);
        if (d == null) {
            return;
        }
        bySerial.remove(d.serial);
        calls.values().removeIf(c -> c.device.equals(deviceId)); // its pending activities are dropped
        count("departures");
    }

    private void register(String client, DeviceMessage m) {
        if (!"DEVICE".equals(m.opt()) || DeviceMessage.isNone(m.actarg())) {
            count("ignored.malformed");
            return;
        }
        String serial = m.actarg();
        long now = clock.getAsLong();
        Device present = bySerial.get(serial);
        if (present != null) {
            // The serial is taken: the device picks another and tries again.
            devices.publish(ADMIN_ANNOUNCE, reply(m, "REGISTER-ACK", "OLD", brokerSerial, present.id, serial, List.of()));
            count("registrations.old");
            return;
        }
        String id;
        do {
            id = HexFormat.of().formatHex(RANDOM.generateSeed(6));
        } while (byId.containsKey(id));
        Device d = new Device(id, serial, m.actname(), client, now);
        byId.put(id, d);
        bySerial.put(serial, d);
        devices.publish(ADMIN_ANNOUNCE, reply(m, "REGISTER-ACK", "NEW", brokerSerial, id, serial, List.of(now)));
        count("registrations.new");
    }

    private void discover(DeviceMessage m) {
        // DISCOVER FOG app fog_name fog_id -> FOUND CLOUD app ALL fog_id [name=address...], never the asker.
        List<Object> found = new ArrayList<>();
        for (String fog : settings.fogs()) {
            if (fog.isBlank()) {
                continue; // "fogs =" in the .cfg file: none
            }
            String name = fog.contains("=") ? fog.substring(0, fog.indexOf('=')) : fog;
            if (!name.equals(m.actid()) && !name.equals(m.actarg())) {
                found.add(fog);
            }
        }
        devices.publish(ADMIN_ANNOUNCE, reply(m, "FOUND", "CLOUD", m.actname(), "ALL", m.actarg(), found));
        count("discoveries");
    }

    private void execute(DeviceMessage m, boolean synchronous) {
        String deviceId = m.actarg();
        String mode = synchronous ? "-" : "ASY";
        Device device = byId.get(deviceId);
        if (device == null) {
            nak(m, mode, "NOT-REGISTERED");
            return;
        }
        String key = deviceId + "\n" + m.actid();
        Call earlier = calls.get(key);
        if (earlier != null) {
            // The same actid again (a lost ACK): acknowledged again, never run twice.
            count("duplicates");
            ack(m, mode, leaseLeft(earlier));
            return;
        }
        Activity activity = activities.get(m.actname());
        if (activity == null) {
            nak(m, mode, "NOT-FOUND");
            return;
        }
        if (!activity.accepts(m.args())) {
            nak(m, mode, "ILLEGAL-PARAMS");
            return;
        }
        Conditions.Outcome condition = conditions.evaluate(m.opt().equals("ASY") || m.opt().equals("SYN") ? "-" : m.opt(), settings.node(),
                Map.of("id", device.id, "app", device.app, "serial", device.serial));
        if (condition != Conditions.Outcome.TRUE) {
            nak(m, mode, condition == Conditions.Outcome.FALSE ? "CONDITION-FALSE" : "ILLEGAL-PARAMS");
            return;
        }
        long now = clock.getAsLong();
        Call call = new Call(deviceId, m.actid(), activity, synchronous, m.encoding(), now);
        // Known before it is sent: the answer can come back on this very thread (the router
        // delivers in the publisher's thread when the microservice answers at once).
        calls.put(key, call);
        try {
            microservices.send(activity.microservice(), rexec(call, device, m.args()));
        } catch (Exception e) {
            calls.remove(key);
            nak(m, mode, "UNAVAILABLE");
            return;
        }
        evictBeyondLimit();
        ack(m, mode, activity.leaseMillis());
        count(synchronous ? "calls.sync" : "calls.async");
    }

    private long leaseLeft(Call c) {
        return c.state == CallState.RUNNING
                ? Math.max(0, c.startedMillis + c.activity.leaseMillis() - clock.getAsLong()) : 0;
    }

    /**
     * {@code REXEC-RES GET actname actid device_id} -> {@code REXEC-RES PUT ACTIVITY actid <code> [value]};
     * {@code REPORT-REQ DEVICE actname actid device_id} -> {@code REPORT-REP <code> actname actid device_id [value]}.
     * Code {@code LEASE-EXT} with a new lease while it runs, {@code COMPLETE-SUC} with the
     * result, {@code COMPLETE-ERR} with the error ({@code NOT-FOUND} for an unknown actid).
     */
    private void result(DeviceMessage m, boolean report) {
        if (!(report ? "DEVICE" : "GET").equals(m.opt())) {
            count("ignored.unknownCommand");
            return;
        }
        String deviceId = m.actarg();
        Call c = calls.get(deviceId + "\n" + m.actid());
        String code;
        Object value;
        if (c == null || !c.synchronous) {
            code = "COMPLETE-ERR";
            value = "NOT-FOUND";
        } else {
            expire(c, clock.getAsLong());
            code = switch (c.state) {
                case RUNNING -> "LEASE-EXT";
                case SUCCEEDED -> "COMPLETE-SUC";
                case FAILED -> "COMPLETE-ERR";
            };
            value = c.state == CallState.RUNNING ? c.activity.leaseMillis() : c.value;
        }
        devices.publish(FUNC_REPLY + deviceId, report
                ? reply(m, "REPORT-REP", code, m.actname(), m.actid(), deviceId, java.util.Collections.singletonList(value))
                : reply(m, "REXEC-RES", "PUT", "ACTIVITY", m.actid(), code, java.util.Collections.singletonList(value)));
    }

    private void kill(DeviceMessage m) {
        String deviceId = m.actarg();
        Call c = calls.get(deviceId + "\n" + m.actid());
        boolean running = c != null && c.state == CallState.RUNNING;
        if (running) {
            end(c, CallState.FAILED, "KILLED");
            try {
                microservices.send(c.activity.microservice(), control(KILL_TYPE, c, byId.get(deviceId)));
            } catch (Exception e) {
                // The microservice is not told; the call is over for the device all the same.
            }
        }
        devices.publish(FUNC_REPLY + deviceId, reply(m, running ? "RKILL-ACK" : "RKILL-IGN", "DEVICE", m.actname(), m.actid(),
                deviceId, List.of()));
    }

    private void ack(DeviceMessage m, String mode, long lease) {
        devices.publish(FUNC_REPLY + m.actarg(), reply(m, "REXEC-ACK", mode, "ACTIVITY", m.actid(), m.actarg(), List.of(lease)));
    }

    private void nak(DeviceMessage m, String mode, String code) {
        count("naks." + code);
        devices.publish(FUNC_REPLY + m.actarg(), reply(m, "REXEC-NAK", mode, "ACTIVITY", m.actid(), m.actarg(), List.of(code)));
    }

    /** An answer in the encoding of the request. */
    private static DeviceMessage reply(DeviceMessage request, String cmd, String opt, String actname, String actid,
                                       String actarg, List<Object> args) {
        return DeviceMessage.of(cmd, opt, actname, actid, actarg, args, request.encoding());
    }

    // ---- from microservices ----

    /**
     * A message routed to the gateway. {@code jam/result} answers a call: contextdata
     * {@code {"actid","device"}}, contentdata {@code {"value":...}} or {@code {"error":"..."}};
     * only the microservice that serves the call's activity may answer it.
     */
    synchronized void fromMicroservice(IoMessage message) {
        if (CALL_TYPE.equals(message.infoType())) {
            startRun(message);
            return;
        }
        if (CALL_KILL_TYPE.equals(message.infoType())) {
            killRun(message);
            return;
        }
        if (!RESULT_TYPE.equals(message.infoType())) {
            count("ignored.microserviceMessage");
            return;
        }
        JsonNode context;
        JsonNode content;
        try {
            context = JSON.readTree(message.contextData());
            content = JSON.readTree(message.contentData());
        } catch (Exception e) {
            count("ignored.malformedResult");
            return;
        }
        if (context == null || content == null) {
            count("ignored.malformedResult");
            return;
        }
        Call c = calls.get(context.path("device").asText() + "\n" + context.path("actid").asText());
        if (c == null || c.state != CallState.RUNNING || !c.activity.microservice().equals(message.publisher())) {
            count("ignored.unexpectedResult");
            return;
        }
        if (!c.synchronous) {
            calls.remove(c.device + "\n" + c.actid); // no result is kept for an asynchronous call
            return;
        }
        if (content.has("error")) {
            end(c, CallState.FAILED, content.get("error").asText());
        } else {
            end(c, CallState.SUCCEEDED, JSON.convertValue(content.get("value"), Object.class));
        }
        count("results");
    }

    private void end(Call c, CallState state, Object value) {
        c.state = state;
        c.value = value;
        c.endedMillis = clock.getAsLong();
    }

    private void expire(Call c, long now) {
        if (c.state == CallState.RUNNING && now - c.startedMillis > settings.maxRunMillis()) {
            end(c, CallState.FAILED, "TIMEOUT");
            count("timeouts");
        }
    }

    private IoMessage rexec(Call c, Device device, List<Object> args) {
        ArrayNode content = JSON.createArrayNode();
        for (Object a : args) {
            content.add(JSON.valueToTree(a)); // bytes become base64 text
        }
        return control(REXEC_TYPE, c, device).toBuilder().contentData(content.toString().getBytes(StandardCharsets.UTF_8))
                .build();
    }

    private IoMessage control(String type, Call c, Device device) {
        ObjectNode context = JSON.createObjectNode();
        context.put("actid", c.actid);
        context.put("device", c.device);
        context.put("activity", c.activity.name());
        context.put("app", device == null ? "" : device.app);
        context.put("mode", c.synchronous ? "sync" : "async");
        return IoMessage.builder().infoType(type).infoFormat("json")
                .contextData(context.toString().getBytes(StandardCharsets.UTF_8)).build();
    }

    // ---- microservices calling devices (J to C) ----

    /** A synchronised start: when, and who takes part. */
    record Schedule(long start, List<String> participants) {
    }

    /** How a run picks the devices that carry it out among those that said they are ready. */
    enum Policy { FIRST, ALL, MAJORITY }

    private static final class Run {
        final String id;
        final String caller;
        final String activity;
        /** Fire and forget (EXEC-ASY): devices acknowledge with their lease; no result comes back. */
        boolean broadcast;
        final Policy policy;
        final int count;
        final long deadlineMillis;
        /** Devices told to start, with the actid each offered; in the order they were chosen. */
        final Map<String, String> started = new LinkedHashMap<>();
        final Map<String, Object> results = new LinkedHashMap<>();
        boolean killed;
        /** Started device -> when to ask it for a report (REPORT-REQ FOG) if it has not reported. */
        final Map<String, Long> reportDue = new HashMap<>();
        /** Synchronised (REQ-SYN): devices offer start times, all participants start at one. */
        boolean synchronised;
        /** Absolute: a schedule must start by then. */
        long timeLimitMillis;
        /** Absolute: the offers are weighed then (or as soon as every device answered). */
        long collectUntilMillis;
        /** How long after a schedule's start its participants have to report. */
        long runTimeMillis;
        int failureThreshold;
        int backups;
        List<Object> args = List.of();
        /** Device -> the start-time slots it offered ({@code [from, to]}, epoch ms); empty: it refused. */
        final Map<String, List<long[]>> offers = new LinkedHashMap<>();
        /** What is still to try, the one under way first; empty before the offers are weighed. */
        final List<Schedule> schedules = new ArrayList<>();
        /** Participants of the schedule under way that reported an error. */
        final Set<String> failed = new java.util.HashSet<>();
        Schedule lastSchedule;
        int schedulesTried;
        String syncFailure;

        Run(String id, String caller, String activity, Policy policy, int count, long deadlineMillis) {
            this.id = id;
            this.caller = caller;
            this.activity = activity;
            this.policy = policy;
            this.count = count;
            this.deadlineMillis = deadlineMillis;
        }
    }

    /**
     * A microservice's {@code jam/call}: contextdata {@code {"runid","activity","policy":
     * "first"|"all"|"majority","count","deadline" (ms),"condition"}}, contentdata the JSON
     * arguments. Announced as {@code REXEC-CALL SYN activity runid cond [args]}.
     */
    private void startRun(IoMessage message) {
        JsonNode context;
        JsonNode args;
        try {
            context = JSON.readTree(message.contextData());
            args = JSON.readTree(message.contentData());
        } catch (Exception e) {
            count("ignored.malformedCall");
            return;
        }
        String runId = context == null ? "" : context.path("runid").asText("");
        Policy policy;
        try {
            policy = Policy.valueOf(context.path("policy").asText("first").toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            policy = null;
        }
        if (runId.isEmpty() || policy == null || runs.containsKey(runId) || args == null || !args.isArray()) {
            count("ignored.malformedCall");
            return;
        }
        long now = clock.getAsLong();
        String mode = context.path("mode").asText("");
        long deadline = Math.max(100, context.path("deadline").asLong(5_000));
        long timeLimit = Math.max(100, context.path("timeLimit").asLong(5_000));
        if ("sync".equals(mode)) {
            deadline += timeLimit; // the schedule may start as late as the time limit
        }
        Run run = new Run(runId, message.publisher(), context.path("activity").asText(), policy,
                Math.max(1, context.path("count").asInt(1)), now + Math.min(settings.maxRunMillis(), deadline));
        runs.put(runId, run);
        List<Object> values = new ArrayList<>();
        args.forEach(a -> values.add(JSON.convertValue(a, Object.class)));
        run.broadcast = "async".equals(mode);
        run.synchronised = "sync".equals(mode);
        if (run.synchronised) {
            // REQ-SYN src activity runid _ [time_limit]: who can start, and when, before the limit?
            run.timeLimitMillis = now + timeLimit;
            run.collectUntilMillis = now + Math.max(0, Math.min(timeLimit, context.path("collect").asLong(Math.min(timeLimit / 2, 2_000))));
            run.runTimeMillis = Math.max(1, context.path("runTime").asLong(settings.defaultLeaseMillis()));
            run.failureThreshold = Math.max(0, context.path("failureThreshold").asInt(0));
            run.backups = Math.max(0, Math.min(2, context.path("backups").asInt(2)));
            run.args = values;
            devices.publish(MACHINE_ANNOUNCE, DeviceMessage.of("REQ-SYN", run.caller, run.activity, runId, "_",
                    List.of(run.timeLimitMillis), settings.broadcastEncoding()));
        } else if (run.broadcast) {
            // EXEC-ASY src funcname actid device_id [args]: every device runs it; each says so with its lease.
            devices.publish(MACHINE_ANNOUNCE, DeviceMessage.of("EXEC-ASY", run.caller, run.activity, runId, "_", values,
                    settings.broadcastEncoding()));
        } else {
            devices.publish(MACHINE_ANNOUNCE, DeviceMessage.of("REXEC-CALL", "SYN", run.activity, runId,
                    context.path("condition").asText("-"), values, settings.broadcastEncoding()));
        }
        count("runs");
    }

    /** {@code EXEC-ACK ASY funcname actid device_id [lease]}: a device runs a broadcast call. */
    private void executing(DeviceMessage m) {
        Run run = runs.get(m.actid());
        String device = m.actarg();
        if (run == null || !run.broadcast || !byId.containsKey(device)) {
            count("ignored.unexpectedReport");
            return;
        }
        run.started.put(device, m.actid());
        run.results.put(device, m.args().isEmpty() ? null : m.args().get(0));
        if (run.results.size() >= byId.size()) {
            finish(run, false);
        }
    }

    /**
     * A microservice's {@code jam/call-kill} (contextdata {@code {"runid"}}) ends its run:
     * {@code RKILL FOG activity _ runid} asks the devices to stop, and the caller gets what
     * came back so far, marked {@code killed}.
     */
    private void killRun(IoMessage message) {
        String runId;
        try {
            runId = JSON.readTree(message.contextData()).path("runid").asText("");
        } catch (Exception e) {
            runId = "";
        }
        Run run = runs.get(runId);
        if (run == null || !run.caller.equals(message.publisher())) {
            count("ignored.unexpectedKill");
            return;
        }
        devices.publish(MACHINE_ANNOUNCE, DeviceMessage.of("RKILL", "FOG", run.activity, "_", runId, List.of(),
                settings.broadcastEncoding()));
        run.killed = true;
        finish(run, false);
    }

    /**
     * {@code REXEC-RDY device_id actname actid runid [lease expiry]}: a device offers to carry
     * out the run. Chosen ones get {@code REXEC-STA}, the others {@code REXEC-QUI} (target
     * device in actarg), on /machine/func/announce.
     */
    private void ready(DeviceMessage m) {
        Run run = runs.get(m.actarg());
        String device = m.opt();
        if (run == null || !byId.containsKey(device) || run.started.containsKey(device)) {
            devices.publish(MACHINE_ANNOUNCE, DeviceMessage.of("REXEC-QUI", m.actarg(), m.actname(), m.actid(), device, List.of(),
                    m.encoding()));
            return;
        }
        boolean chosen = run.policy != Policy.FIRST || run.started.size() < run.count;
        if (chosen) {
            run.started.put(device, m.actid());
            long lease = !m.args().isEmpty() && m.args().get(0) instanceof Number n && n.longValue() > 0 ? n.longValue()
                    : settings.defaultLeaseMillis();
            run.reportDue.put(device, clock.getAsLong() + lease);
        }
        devices.publish(MACHINE_ANNOUNCE, DeviceMessage.of(chosen ? "REXEC-STA" : "REXEC-QUI", run.id, run.activity, m.actid(),
                device, List.of(), m.encoding()));
    }

    /** {@code REPORT-REP FIN actname device_id runid [result]}: a chosen device's result. */
    private void reported(DeviceMessage m) {
        Run run = runs.get(m.actarg());
        String device = m.actid();
        if (run != null && run.synchronised) {
            reportedOnSchedule(run, m);
            return;
        }
        if (run == null || !run.started.containsKey(device) || run.broadcast || run.results.containsKey(device)) {
            count("ignored.unexpectedReport");
            return;
        }
        Object value = m.args().isEmpty() ? null : m.args().get(0);
        switch (m.opt()) {
            case "FIN", "COMPLETE-SUC" -> run.results.put(device, value);
            case "COMPLETE-ERR" -> run.results.put(device, java.util.Collections.singletonMap("error", value));
            case "LEASE-EXT" -> {
                // Still running (the answer to REPORT-REQ FOG): ask again when the new lease ends.
                long lease = value instanceof Number n && n.longValue() > 0 ? n.longValue() : settings.defaultLeaseMillis();
                run.reportDue.put(device, clock.getAsLong() + lease);
                count("runs.leaseExtensions");
                return;
            }
            default -> {
                count("ignored.unexpectedReport");
                return;
            }
        }
        boolean enough = switch (run.policy) {
            case FIRST -> run.results.size() >= run.count;
            case ALL -> run.results.size() >= byId.size();
            case MAJORITY -> run.results.size() * 2 > byId.size();
        };
        if (enough) {
            finish(run, false);
        }
    }

    /**
     * {@code REPORT-REQ FOG activity device_id runid} to each started device whose lease
     * ended without a report; it answers {@code REPORT-REP} with {@code LEASE-EXT [lease]},
     * {@code COMPLETE-SUC [value]} (or {@code FIN}) or {@code COMPLETE-ERR [error]}.
     * Asked again after each lease (or the default lease) without an answer.
     */
    private void askOverdue(Run run, long now) {
        for (Map.Entry<String, Long> due : run.reportDue.entrySet()) {
            String device = due.getKey();
            if (now >= due.getValue() && !run.results.containsKey(device) && byId.containsKey(device)) {
                devices.publish(MACHINE_ANNOUNCE, DeviceMessage.of("REPORT-REQ", "FOG", run.activity, device, run.id, List.of(),
                        settings.broadcastEncoding()));
                due.setValue(now + settings.defaultLeaseMillis());
                count("runs.reportRequests");
            }
        }
    }

    // ---- the synchronised schedule ----

    /**
     * {@code AGREE-SYN device_id activity runid _ [[from, to], ...]}: the epoch-ms slots in
     * which the device can start; {@code REJECT-SYN device_id activity runid}: it will not.
     */
    private void offered(DeviceMessage m, boolean agrees) {
        Run run = runs.get(m.actid());
        String device = m.opt();
        if (run == null || !run.synchronised || !byId.containsKey(device) || !run.schedules.isEmpty()
                || run.lastSchedule != null) {
            count("ignored.unexpectedOffer");
            return;
        }
        List<long[]> slots = new ArrayList<>();
        if (agrees) {
            for (Object o : m.args()) {
                if (o instanceof List<?> l && l.size() == 2 && l.get(0) instanceof Number from && l.get(1) instanceof Number to
                        && from.longValue() <= to.longValue()) {
                    slots.add(new long[] {from.longValue(), to.longValue()});
                } else {
                    count("ignored.malformedOffer");
                    return;
                }
            }
        }
        run.offers.put(device, slots);
        count(agrees ? "sync.agreed" : "sync.rejected");
        if (run.offers.size() >= byId.size()) {
            schedule(run); // every registered device answered: no need to wait longer
        }
    }

    /**
     * The schedule with the most participants that starts soonest within the time limit
     * ({@code SYNC-SCHED PRI}), and up to two backups, the next best at other times
     * ({@code SYNC-SCHED BAK}); args {@code [start, [device ids], [activity args]]}.
     */
    private void schedule(Run run) {
        long now = clock.getAsLong();
        java.util.TreeSet<Long> starts = new java.util.TreeSet<>();
        run.offers.values().forEach(slots -> slots.forEach(slot -> {
            long t = Math.max(slot[0], now);
            if (t <= slot[1] && t <= run.timeLimitMillis) {
                starts.add(t);
            }
        }));
        List<Schedule> ranked = new ArrayList<>();
        for (long t : starts) {
            List<String> who = new ArrayList<>();
            run.offers.forEach((device, slots) -> {
                for (long[] slot : slots) {
                    if (slot[0] <= t && t <= slot[1]) {
                        who.add(device);
                        break;
                    }
                }
            });
            ranked.add(new Schedule(t, List.copyOf(who)));
        }
        ranked.sort(java.util.Comparator.comparingInt((Schedule x) -> -x.participants().size()).thenComparingLong(Schedule::start));
        if (ranked.isEmpty()) {
            run.syncFailure = run.offers.isEmpty() ? "no device answered" : "no device can start within the time limit";
            finish(run, false);
            return;
        }
        run.schedules.addAll(ranked.subList(0, Math.min(ranked.size(), 1 + run.backups)));
        for (int i = 0; i < run.schedules.size(); i++) {
            announceSchedule(run, run.schedules.get(i), i == 0 ? "PRI" : "BAK");
        }
        follow(run);
    }

    private void announceSchedule(Run run, Schedule s, String kind) {
        devices.publish(MACHINE_ANNOUNCE, DeviceMessage.of("SYNC-SCHED", kind, run.activity, run.id, "_",
                List.of(s.start(), s.participants(), run.args), settings.broadcastEncoding()));
    }

    /** The schedule at the head of the list is the one under way. */
    private void follow(Run run) {
        Schedule s = run.schedules.get(0);
        run.lastSchedule = s;
        run.results.clear();
        run.failed.clear();
        run.started.clear();
        s.participants().forEach(d -> run.started.put(d, run.id));
        count("sync.schedules");
    }

    /** {@code REPORT-REP FIN|ERR actname device_id runid [result or error]} of a participant. */
    private void reportedOnSchedule(Run run, DeviceMessage m) {
        String device = m.actid();
        Schedule s = run.schedules.isEmpty() ? null : run.schedules.get(0);
        // A report before the schedule's start belongs to one abandoned before it.
        if (s == null || !s.participants().contains(device) || run.results.containsKey(device) || run.failed.contains(device)
                || clock.getAsLong() < s.start()) {
            count("ignored.unexpectedReport");
            return;
        }
        switch (m.opt()) {
            case "FIN" -> run.results.put(device, m.args().isEmpty() ? null : m.args().get(0));
            case "ERR" -> run.failed.add(device);
            default -> {
                count("ignored.unexpectedReport");
                return;
            }
        }
        settle(run, false);
    }

    /**
     * Ends the schedule under way when it can be judged: too many failures move to the next
     * schedule; every participant reported (or, when it is due, the silent ones counted as
     * failures within the threshold) completes the run.
     */
    private void settle(Run run, boolean due) {
        Schedule s = run.schedules.get(0);
        int failures = run.failed.size();
        if (due) {
            failures += s.participants().size() - run.results.size() - run.failed.size();
        }
        if (failures > run.failureThreshold) {
            count("sync.failovers");
            run.schedulesTried++;
            run.schedules.remove(0);
            long now = clock.getAsLong();
            run.schedules.removeIf(next -> next.start() < now); // a backup whose time has passed cannot be kept
            if (run.schedules.isEmpty()) {
                run.syncFailure = "every schedule failed (more than " + run.failureThreshold + " failures)";
                finish(run, false);
                return;
            }
            announceSchedule(run, run.schedules.get(0), "PRI"); // the backup becomes the primary
            follow(run);
            return;
        }
        if (due || run.results.size() + run.failed.size() >= s.participants().size()) {
            finish(run, false);
        }
    }

    /** Offers weighed when their time is up, schedules judged when their reports are due. */
    private void tickSynchronised(Run run, long now) {
        if (run.schedules.isEmpty()) {
            if (run.lastSchedule == null && now >= run.collectUntilMillis) {
                schedule(run);
            }
        } else if (now >= run.schedules.get(0).start() + run.runTimeMillis) {
            settle(run, true);
        }
    }

    /** Tells the caller what came back: {@code jam/call-result}, contentdata {@code {"results":[{device,value}],"timedOut"}}. */
    private void finish(Run run, boolean timedOut) {
        runs.remove(run.id);
        ObjectNode content = JSON.createObjectNode();
        ArrayNode results = content.putArray("results");
        run.results.forEach((device, value) -> results.addObject().put("device", device).set("value", JSON.valueToTree(value)));
        content.put("timedOut", timedOut);
        content.put("killed", run.killed);
        content.put("started", run.started.size());
        if (run.synchronised) {
            boolean synchronised = run.syncFailure == null && !run.killed && !timedOut && run.lastSchedule != null;
            content.put("synchronised", synchronised);
            if (run.syncFailure != null) {
                content.put("reason", run.syncFailure);
            }
            if (run.lastSchedule != null) {
                content.put("start", run.lastSchedule.start());
                ArrayNode participants = content.putArray("participants");
                run.lastSchedule.participants().forEach(participants::add);
                content.put("schedulesTried", run.schedulesTried + (synchronised ? 1 : 0));
            }
            count(synchronised ? "sync.complete" : "sync.failed");
        }
        ObjectNode context = JSON.createObjectNode().put("runid", run.id).put("activity", run.activity);
        try {
            microservices.send(run.caller, IoMessage.builder().infoType(CALL_RESULT_TYPE).infoFormat("json")
                    .contextData(context.toString().getBytes(StandardCharsets.UTF_8))
                    .contentData(content.toString().getBytes(StandardCharsets.UTF_8)).build());
        } catch (Exception e) {
            count("lostRunResults");
        }
        count(timedOut ? "runs.timedOut" : "runs.complete");
    }

    // ---- time ----

    /** Announcements after a start, results and devices that expire; called about once a second. */
    synchronized void tick() {
        long now = clock.getAsLong();
        List<Run> overdue = new ArrayList<>();
        runs.values().forEach(r -> {
            if (now >= r.deadlineMillis) {
                overdue.add(r);
            }
        });
        overdue.forEach(r -> finish(r, true));
        for (Run r : new ArrayList<>(runs.values())) {
            if (r.synchronised && runs.containsKey(r.id)) {
                tickSynchronised(r, now);
            } else if (!r.broadcast) {
                askOverdue(r, now);
            }
        }
        if (now - startedMillis <= settings.announceMillis()
                && (lastAnnounceMillis == Long.MIN_VALUE || now - lastAnnounceMillis >= settings.announceIntervalMillis())) {
            lastAnnounceMillis = now;
            devices.publish(ADMIN_ANNOUNCE, DeviceMessage.of("REBOOT", "BROKER", brokerSerial, "_", "_",
                    List.of(startedMillis), settings.broadcastEncoding()));
        }
        for (Iterator<Call> it = calls.values().iterator(); it.hasNext(); ) {
            Call c = it.next();
            expire(c, now);
            if (c.state != CallState.RUNNING && now - c.endedMillis > settings.resultTtlMillis()) {
                it.remove();
            }
        }
        if (settings.deviceSilenceMillis() > 0) {
            List<String> silent = new ArrayList<>();
            byId.values().forEach(d -> {
                if (now - d.lastHeardMillis > settings.deviceSilenceMillis()) {
                    silent.add(d.id);
                }
            });
            silent.forEach(this::depart);
        }
    }

    private void evictBeyondLimit() {
        Iterator<Call> it = calls.values().iterator();
        while (calls.size() > settings.maxResults() && it.hasNext()) {
            it.next();
            it.remove();
            count("evicted");
        }
    }

    private void count(String what) {
        counters.merge(what, 1L, Long::sum);
    }

    /** For status and metrics: devices registered, calls in flight, and the counters. */
    synchronized Map<String, Object> figures() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("brokerSerial", brokerSerial);
        f.put("devicesRegistered", byId.size());
        f.put("callsInFlight", calls.values().stream().filter(c -> c.state == CallState.RUNNING).count());
        f.put("activities", activities.size());
        f.put("runsInFlight", runs.size());
        f.putAll(counters);
        return f;
    }
}
