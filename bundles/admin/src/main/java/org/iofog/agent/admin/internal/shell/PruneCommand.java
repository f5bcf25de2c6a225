package org.iofog.agent.admin.internal.shell;

import java.util.List;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "iofog", name = "prune", description = "Removes images the agent pulled that no microservice needs any more")
@Service
public class PruneCommand extends IofogCommand {

    @Override
    public Object execute() {
        return run(List.of("prune"));
    }
}
