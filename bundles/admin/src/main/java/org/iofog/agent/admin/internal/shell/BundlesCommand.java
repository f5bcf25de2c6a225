package org.iofog.agent.admin.internal.shell;

import java.util.List;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "iofog", name = "bundles", description = "Every bundle with its state, version and how often it started since the agent did")
@Service
public class BundlesCommand extends IofogCommand {

    @Override
    public Object execute() {
        return run(List.of("bundles"));
    }
}
