package org.iofog.agent.admin.internal.shell;

import java.util.List;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.iofog.agent.admin.internal.AgentCommandLine;

/** The console face of the CLI: the same command, the same output. */
abstract class IofogCommand implements Action {

    @Reference
    AgentCommandLine commandLine;

    Object run(List<String> args) {
        AgentCommandLine.Result result = commandLine.run(args);
        System.out.print(result.stdout());
        if (!result.stderr().isEmpty()) {
            System.err.println(result.stderr());
        }
        return null;
    }
}
