package org.iofog.agent.admin.internal.shell;

import java.util.ArrayList;
import java.util.List;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "iofog", name = "system-container", description = "Deploys a shipped system container (core-networking,"
        + " debug-console, stream-viewer) from the deployment file, or removes one: system-container remove <uuid>")
@Service
public class SystemContainerCommand extends IofogCommand {

    @Argument(index = 0, name = "name", description = "core-networking, debug-console, stream-viewer, or remove",
            required = true)
    String name;

    @Argument(index = 1, name = "uuid", description = "for remove: the system container's uuid")
    String removed;

    @Option(name = "--uuid", description = "its microservice uuid (default: its name)")
    String uuid;

    @Option(name = "--port", description = "host port of its REST API (debug-console 10080, stream-viewer 10081)")
    String port;

    @Option(name = "--from", description = "a publisher whose messages are routed to it", multiValued = true)
    List<String> from;

    @Option(name = "--limit", description = "storage limit per publisher, MiB (default 200)")
    String limit;

    @Option(name = "--config", description = "core-networking: its configuration JSON")
    String config;

    @Override
    public Object execute() {
        List<String> args = new ArrayList<>(List.of("system-container", name));
        if (removed != null) {
            args.add(removed);
        }
        add(args, "--uuid", uuid);
        add(args, "--port", port);
        add(args, "--limit", limit);
        add(args, "--config", config);
        if (from != null) {
            from.forEach(f -> add(args, "--from", f));
        }
        return run(args);
    }

    private static void add(List<String> args, String option, String value) {
        if (value != null) {
            args.add(option);
            args.add(value);
        }
    }
}
