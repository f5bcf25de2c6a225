package org.iofog.agent.admin.internal.shell;

import java.util.List;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "iofog", name = "info", description = "Shows the node's identity and configuration")
@Service
public class InfoCommand extends IofogCommand {

    @Override
    public Object execute() {
        return run(List.of("info"));
    }
}
