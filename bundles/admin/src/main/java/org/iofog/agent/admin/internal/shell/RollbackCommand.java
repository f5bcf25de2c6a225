package org.iofog.agent.admin.internal.shell;

import java.util.List;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "iofog", name = "rollback", description = "Goes back to the agent version before the current one, keeping every container running")
@Service
public class RollbackCommand extends IofogCommand {

    @Override
    public Object execute() {
        return run(List.of("rollback"));
    }
}
