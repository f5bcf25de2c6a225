package org.iofog.agent.admin.internal.shell;

import java.util.ArrayList;
import java.util.List;
import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;

@Command(scope = "iofog", name = "upgrade", description = "Upgrades the agent (or one of its features) to the newest"
        + " or the given version, keeping every container running; rolls back by itself if the new version is not healthy")
@Service
public class UpgradeCommand extends IofogCommand {

    @Argument(index = 0, name = "feature", description = "One feature of the agent (iofog-message-router, ...), or a"
            + " version for all of them; none: every feature to the newest version offered")
    String feature;

    @Argument(index = 1, name = "version", description = "The version for that feature")
    String version;

    @Override
    public Object execute() {
        List<String> args = new ArrayList<>(List.of("upgrade"));
        if (feature != null) {
            args.add(feature);
        }
        if (version != null) {
            args.add(version);
        }
        return run(args);
    }
}
