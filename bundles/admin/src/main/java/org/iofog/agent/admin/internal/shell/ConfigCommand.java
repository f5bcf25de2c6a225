package org.iofog.agent.admin.internal.shell;

import java.util.ArrayList;
import java.util.List;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "iofog", name = "config", description = "Changes the agent's configuration with the iofog-agent flags, e.g. iofog:config -a http://host:51121/api/v3/")
@Service
public class ConfigCommand extends IofogCommand {

    // The flags are ioFog's (-a, -ac, ...), passed through raw so console and CLI parse them alike.
    @Argument(name = "flags", description = "flag value pairs", multiValued = true, required = true)
    List<String> flags;

    @Override
    public Object execute() {
        List<String> args = new ArrayList<>();
        args.add("config");
        args.addAll(flags);
        return run(args);
    }
}
