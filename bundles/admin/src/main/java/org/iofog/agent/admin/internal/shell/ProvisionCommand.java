package org.iofog.agent.admin.internal.shell;

import java.util.List;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "iofog", name = "provision", description = "Provisions this node with the Fog Controller, using a provisioning key")
@Service
public class ProvisionCommand extends IofogCommand {

    @Argument(index = 0, name = "key", description = "The provisioning key (single use, from the controller)", required = true)
    String key;

    @Override
    public Object execute() {
        return run(List.of("provision", key));
    }
}
