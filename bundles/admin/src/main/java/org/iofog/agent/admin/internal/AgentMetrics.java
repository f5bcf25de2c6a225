package org.iofog.agent.admin.internal;

import java.util.Locale;
import java.util.Map;
import org.iofog.agent.api.controller.ConnectionState;
import org.iofog.agent.api.controller.ConnectionStatus;
import org.iofog.agent.api.controller.ControllerConnection;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.messaging.RouterStatistics;
import org.iofog.agent.api.resources.MicroserviceUsage;
import org.iofog.agent.api.resources.ResourceUsage;
import org.iofog.agent.api.resources.UsageReport;
import org.iofog.agent.api.runtime.MicroserviceRuntime;
import org.iofog.agent.api.runtime.MicroserviceState;
import org.iofog.agent.api.runtime.MicroserviceStatus;
import org.iofog.agent.api.status.HealthState;
import org.iofog.agent.api.status.SubsystemStatus;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * {@code GET /metrics} on the admin listener: the Prometheus text exposition format
 * (0.0.4), computed on each scrape from what the subsystems report. A subsystem that is
 * away (being updated) just has no samples in that scrape.
 */
@Component(service = AgentMetrics.class)
public final class AgentMetrics {

    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final AgentInspector inspector;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile MessageRouter router;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile MicroserviceRuntime runtime;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ResourceUsage resources;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ControllerConnection controller;

    @Activate
    public AgentMetrics(@Reference AgentInspector inspector) {
        this.inspector = inspector;
    }

    String render() {
        Exposition out = new Exposition();
        AgentReport report = inspector.report();
        out.family("iofog_agent_info", "gauge", "The agent's version", Map.of("version", report.version()), 1);
        out.family("iofog_agent_ready", "gauge", "1 once every bundle and component of the agent is active", Map.of(),
                report.ready() ? 1 : 0);
        out.family("iofog_agent_uptime_seconds", "gauge", "Seconds since the agent's JVM started", Map.of(),
                report.uptimeMillis() / 1000.0);
        out.help("iofog_subsystem_state", "gauge", "1 for the state each subsystem is in");
        for (SubsystemStatus s : report.subsystems()) {
            for (HealthState state : HealthState.values()) {
                out.sample("iofog_subsystem_state", Map.of("subsystem", s.subsystem(), "state", state.name()),
                        s.state() == state ? 1 : 0);
            }
        }
        // Every numeric figure of every subsystem's status (the device gateway's devices,
        // calls in flight and NAKs by reason among them), so none needs a family of its own.
        out.help("iofog_subsystem_figure", "gauge", "Each subsystem's numeric status figures, by name (counts only grow)");
        for (SubsystemStatus s : report.subsystems()) {
            s.figures().forEach((figure, v) -> {
                if (v instanceof Number n) {
                    out.sample("iofog_subsystem_figure", Map.of("subsystem", s.subsystem(), "figure", figure), n.doubleValue());
                }
            });
        }
        router(out);
        microservices(out);
        resources(out);
        controller(out);
        return out.toString();
    }

    private void router(Exposition out) {
        MessageRouter r = router;
        RouterStatistics s;
        try {
            s = r == null ? null : r.statistics();
        } catch (RuntimeException goingAway) {
            s = null;
        }
        if (s == null) {
            return;
        }
        out.family("iofog_router_messages_processed_total", "counter", "Messages accepted since the store was created",
                Map.of(), s.processed());
        out.family("iofog_router_message_speed", "gauge", "Messages accepted per second, over the last few seconds",
                Map.of(), s.messageSpeed());
        out.family("iofog_router_store_bytes", "gauge", "Disk used by the message store", Map.of(), s.storeBytes());
        out.help("iofog_router_queue_depth", "gauge", "Messages waiting per receiver, not yet acknowledged");
        s.queueDepth().forEach((receiver, n) -> out.sample("iofog_router_queue_depth", Map.of("receiver", receiver), n));
        out.help("iofog_router_dropped_total", "counter", "Messages not delivered to a receiver, by reason");
        for (String reason : new String[] {"type", "unrouted", "backlog", "disk"}) {
            out.sample("iofog_router_dropped_total", Map.of("reason", reason), s.dropped().getOrDefault(reason, 0L));
        }
        s.dropped().forEach((reason, n) -> {
            if (!java.util.Set.of("type", "unrouted", "backlog", "disk").contains(reason)) {
                out.sample("iofog_router_dropped_total", Map.of("reason", reason), n);
            }
        });
        out.help("iofog_router_delivery_latency_seconds", "gauge",
                "Publish to first delivery over recent deliveries, by quantile (1 = the maximum)");
        s.latencyMillis().forEach((q, ms) -> out.sample("iofog_router_delivery_latency_seconds",
                Map.of("quantile", quantile(q)), ms / 1000.0));
        out.help("iofog_router_published_total", "counter", "Messages accepted per publisher since the router started");
        s.perPublisher().forEach((p, n) -> out.sample("iofog_router_published_total", Map.of("publisher", p), n));
    }

    private static String quantile(String name) {
        return switch (name) {
            case "p50" -> "0.5";
            case "p90" -> "0.9";
            case "p99" -> "0.99";
            case "p999" -> "0.999";
            case "max" -> "1";
            default -> name;
        };
    }

    private void microservices(Exposition out) {
        MicroserviceRuntime rt = runtime;
        java.util.List<MicroserviceStatus> statuses;
        try {
            statuses = rt == null ? null : rt.statuses();
        } catch (RuntimeException goingAway) {
            statuses = null;
        }
        if (statuses == null) {
            return;
        }
        out.help("iofog_microservice_state", "gauge", "1 for the state each microservice is in");
        for (MicroserviceStatus m : statuses) {
            for (MicroserviceState state : MicroserviceState.values()) {
                out.sample("iofog_microservice_state", Map.of("microservice", m.uuid(), "state", state.name()),
                        m.state() == state ? 1 : 0);
            }
        }
        out.help("iofog_microservice_restarts", "gauge", "Restarts by the agent since the microservice's last healthy run");
        for (MicroserviceStatus m : statuses) {
            out.sample("iofog_microservice_restarts", Map.of("microservice", m.uuid()), m.restarts());
        }
        out.family("iofog_microservices", "gauge", "Microservices the agent manages", Map.of(), statuses.size());
    }

    private void resources(Exposition out) {
        ResourceUsage ru = resources;
        UsageReport u;
        try {
            u = ru == null ? null : ru.current();
        } catch (RuntimeException goingAway) {
            u = null;
        }
        if (u == null || u.measuredAtMillis() == 0) {
            return;
        }
        out.family("iofog_agent_cpu_percent", "gauge", "The agent's CPU use in % of the whole machine", Map.of(),
                u.agentCpuPercent());
        out.family("iofog_agent_memory_bytes", "gauge", "The agent's resident memory", Map.of(), u.agentMemoryBytes());
        out.family("iofog_agent_log_bytes", "gauge", "Disk used by the agent's log files", Map.of(), u.logBytes());
        out.family("iofog_system_cpu_percent", "gauge", "The machine's CPU use in %", Map.of(), u.systemCpuPercent());
        out.family("iofog_system_available_memory_bytes", "gauge", "The machine's available memory", Map.of(),
                u.systemAvailableMemoryBytes());
        out.family("iofog_system_available_disk_bytes", "gauge", "Free space on the agent's data disk", Map.of(),
                u.systemAvailableDiskBytes());
        out.help("iofog_resource_violation", "gauge", "1 while the agent exceeds the limit on that resource");
        out.sample("iofog_resource_violation", Map.of("resource", "cpu"), u.violations().cpu() ? 1 : 0);
        out.sample("iofog_resource_violation", Map.of("resource", "memory"), u.violations().memory() ? 1 : 0);
        out.sample("iofog_resource_violation", Map.of("resource", "disk"), u.violations().disk() ? 1 : 0);
        out.help("iofog_microservice_cpu_percent", "gauge", "A microservice's CPU use in % of one core");
        for (MicroserviceUsage m : u.microservices().values()) {
            out.sample("iofog_microservice_cpu_percent", Map.of("microservice", m.uuid()), m.cpuPercent());
        }
        out.help("iofog_microservice_memory_bytes", "gauge", "Memory charged to a microservice's container");
        for (MicroserviceUsage m : u.microservices().values()) {
            out.sample("iofog_microservice_memory_bytes", Map.of("microservice", m.uuid()), m.memoryBytes());
        }
    }

    private void controller(Exposition out) {
        ControllerConnection c = controller;
        ConnectionStatus s;
        try {
            s = c == null ? null : c.connectionStatus();
        } catch (RuntimeException goingAway) {
            s = null;
        }
        if (s == null) {
            return;
        }
        out.family("iofog_controller_provisioned", "gauge", "1 while the node is provisioned with a controller", Map.of(),
                s.provisioned() ? 1 : 0);
        out.help("iofog_controller_connection", "gauge", "1 for the state of the connection to the controller");
        for (ConnectionState state : ConnectionState.values()) {
            out.sample("iofog_controller_connection", Map.of("state", state.name()), s.state() == state ? 1 : 0);
        }
    }

    /** Builds the text format: HELP and TYPE once per family, then its samples. */
    static final class Exposition {
        private final StringBuilder text = new StringBuilder(4096);

        void help(String name, String type, String help) {
            text.append("# HELP ").append(name).append(' ').append(help.replace("\\", "\\\\").replace("\n", "\\n")).append('\n');
            text.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        }

        void family(String name, String type, String help, Map<String, String> labels, double value) {
            help(name, type, help);
            sample(name, labels, value);
        }

        void sample(String name, Map<String, String> labels, double value) {
            text.append(name);
            if (!labels.isEmpty()) {
                text.append('{');
                boolean first = true;
                for (Map.Entry<String, String> e : new java.util.TreeMap<>(labels).entrySet()) {
                    if (!first) {
                        text.append(',');
                    }
                    first = false;
                    text.append(e.getKey()).append("=\"").append(escape(e.getValue())).append('"');
                }
                text.append('}');
            }
            text.append(' ').append(number(value)).append('\n');
        }

        private static String escape(String v) {
            return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
        }

        private static String number(double v) {
            if (Double.isNaN(v)) {
                return "NaN";
            }
            if (Double.isInfinite(v)) {
                return v > 0 ? "+Inf" : "-Inf";
            }
            if (v == Math.rint(v) && Math.abs(v) < 1e15) {
                return Long.toString((long) v);
            }
            return String.format(Locale.ROOT, "%s", v);
        }

        @Override
        public String toString() {
            return text.toString();
        }
    }
}
