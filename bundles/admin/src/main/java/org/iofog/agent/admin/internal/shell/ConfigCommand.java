package org.iofog.agent.admin.internal.shell;

import java.util.ArrayList;
import java.util.List;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "iofog", name = "config",
        description = "Changes the agent's configuration live, with the flags of iofog-agent config")
@Service
public class ConfigCommand extends IofogCommand {

    @Option(name = "-a", description = "controller URL, e.g. http://host:51121/api/v3/")
    String controllerUrl;

    @Option(name = "-ac", description = "controller certificate file")
    String controllerCert;

    @Override
    public Object execute() {
        List<String> args = new ArrayList<>(List.of("config"));
        flag(args, "-a", controllerUrl);
        flag(args, "-ac", controllerCert);
        return run(args);
    }

    private static void flag(List<String> args, String flag, String value) {
        if (value != null) {
            args.add(flag);
            args.add(value);
        }
    }
}
