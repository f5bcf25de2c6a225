package org.iofog.agent.admin.internal.shell;

import java.util.List;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "iofog", name = "version", description = "Shows the agent's version and the versions of its features")
@Service
public class VersionCommand extends IofogCommand {

    @Override
    public Object execute() {
        return run(List.of("version"));
    }
}
