package org.iofog.agent.admin.internal.shell;

import java.util.List;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "iofog", name = "status", description = "Shows the agent's state: bundles, DS components and each subsystem")
@Service
public class StatusCommand extends IofogCommand {

    @Override
    public Object execute() {
        return run(List.of("status"));
    }
}
