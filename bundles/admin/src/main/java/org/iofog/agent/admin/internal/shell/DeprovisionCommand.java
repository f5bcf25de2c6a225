package org.iofog.agent.admin.internal.shell;

import java.util.List;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "iofog", name = "deprovision", description = "Leaves the Fog Controller; the deployment file is the source of desired state again")
@Service
public class DeprovisionCommand extends IofogCommand {

    @Override
    public Object execute() {
        return run(List.of("deprovision"));
    }
}
