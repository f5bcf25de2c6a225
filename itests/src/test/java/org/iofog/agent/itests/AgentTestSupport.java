package org.iofog.agent.itests;

import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.CoreOptions.vmOptions;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.configureConsole;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.karafDistributionConfiguration;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.logLevel;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.replaceConfigurationFile;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivilegedActionException;
import java.security.PrivilegedExceptionAction;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import javax.inject.Inject;
import javax.security.auth.Subject;
import org.apache.karaf.jaas.boot.principal.RolePrincipal;
import org.apache.karaf.jaas.boot.principal.UserPrincipal;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.karaf.options.LogLevelOption;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * What every itest on the assembly shares: boot the real tarball with free ports, run
 * console commands, wait for conditions. One boot per test class (Pax Exam's
 * PerClass strategy), so keep the number of classes small.
 */
public abstract class AgentTestSupport {

    static final String OUR_PREFIX = "org.iofog.";

    @Inject
    protected BundleContext bundleContext;

    @Inject
    protected SessionFactory sessionFactory;

    /**
     * Options every test class boots with; subclasses add their own. The agent's shipped
     * deployment (the sample pipeline) is replaced by an empty one: containers outlive the
     * agent by design, and test agents must not fight over the samples' container names.
     */
    protected static Option[] agentDistribution() {
        return agentDistribution(new File("src/test/resources/deployment-empty.json"));
    }

    /**
     * Boots with {@code deploymentJson} as etc/deployment.json, through a temporary file:
     * Pax Exam copies it into the distribution it unpacks, in this JVM, so it is deleted
     * when this JVM exits.
     */
    protected static Option[] agentDistribution(String deploymentJson) throws IOException {
        Path deployment = Files.createTempFile("deployment-", ".json");
        deployment.toFile().deleteOnExit();
        Files.writeString(deployment, deploymentJson);
        return agentDistribution(deployment.toFile());
    }

    /** Boots with {@code deployment} as etc/deployment.json. */
    protected static Option[] agentDistribution(File deployment) {
        String tarball = new File(System.getProperty("distribution.tarball")).toURI().toString();
        String localRepo = System.getProperty("maven.repo.local");
        int adminPort = freePort();
        List<Option> options = new ArrayList<>(List.of(
                karafDistributionConfiguration()
                        .frameworkUrl(tarball)
                        .karafVersion(System.getProperty("karaf.version"))
                        .name("ioFog Agent")
                        .unpackDirectory(new File("target/exam"))
                        .useDeployFolder(false),
                configureConsole().ignoreLocalConsole().ignoreRemoteShell(),
                logLevel(LogLevelOption.LogLevel.INFO),
                editConfigurationFilePut("etc/org.iofog.agent.admin.cfg", "port", String.valueOf(adminPort)),
                replaceConfigurationFile("etc/deployment.json", deployment),
                editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg",
                        "org.ops4j.pax.url.mvn.localRepository", localRepo),
                systemProperty("itest.admin.port").value(String.valueOf(adminPort)),
                // The module flags the distribution's bin/karaf passes on Java 9+, which Pax Exam
                // does not. Like it, no patched JDK module (karaf-assembly/pom.xml): the specs
                // locator is in lib/boot, on the class path Pax Exam builds.
                vmOptions(
                        "--add-reads=java.xml=java.logging",
                        "--add-opens", "java.base/java.security=ALL-UNNAMED",
                        "--add-opens", "java.base/java.net=ALL-UNNAMED",
                        "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                        "--add-opens", "java.base/java.util=ALL-UNNAMED",
                        "--add-opens", "java.naming/javax.naming.spi=ALL-UNNAMED",
                        "--add-opens", "java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.file=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.ftp=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.http=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.https=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.protocol.jar=ALL-UNNAMED",
                        "--add-exports=java.base/sun.net.www.content.text=ALL-UNNAMED",
                        "--add-exports=jdk.xml.dom/org.w3c.dom.html=ALL-UNNAMED",
                        "--add-exports=jdk.naming.rmi/com.sun.jndi.url.rmi=ALL-UNNAMED",
                        "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
                        "--add-exports=java.security.sasl/com.sun.security.sasl=ALL-UNNAMED",
                        "--add-exports=java.naming/com.sun.jndi.ldap=ALL-UNNAMED")));
        return options.toArray(new Option[0]);
    }

    /** A tiny test image: a busybox-static root filesystem, imported (no registry is reachable). */
    static final String BUSYBOX = "iofog-itest/busybox:1";

    static void importBusybox() throws IOException {
        sh("docker image inspect " + BUSYBOX + " >/dev/null 2>&1 && exit 0; set -e; root=$(mktemp -d); mkdir -p $root/bin;"
                + " cp /bin/busybox $root/bin/; for a in $($root/bin/busybox --list); do [ $a = busybox ] || ln -s busybox $root/bin/$a; done;"
                + " tar -C $root -c . | docker import -c 'CMD [\"sleep\",\"3600\"]' - " + BUSYBOX + " >/dev/null; rm -rf $root");
    }

    /** Runs a bash script; its output, or an IOException with it when it fails. */
    static String sh(String script) throws IOException {
        try {
            Process p = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IOException(script + " failed: " + out);
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs a console command as an operator would and returns what it printed. */
    protected String console(String command) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Session session = sessionFactory.create(System.in, out, out);
        // As a console user with every role, so Karaf's command ACLs let the commands run.
        Subject operator = new Subject();
        operator.getPrincipals().add(new UserPrincipal("itest"));
        operator.getPrincipals().add(new RolePrincipal("viewer"));
        operator.getPrincipals().add(new RolePrincipal("manager"));
        operator.getPrincipals().add(new RolePrincipal("admin"));
        try {
            Subject.doAs(operator, (PrivilegedExceptionAction<Object>) () -> session.execute(command));
        } catch (PrivilegedActionException e) {
            throw e.getException();
        } finally {
            out.flush();
            session.close();
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    protected List<Bundle> ourBundles() {
        List<Bundle> ours = new ArrayList<>();
        for (Bundle b : bundleContext.getBundles()) {
            if (b.getSymbolicName() != null && b.getSymbolicName().startsWith(OUR_PREFIX)) {
                ours.add(b);
            }
        }
        return ours;
    }

    protected Bundle ourBundle(String symbolicName) {
        return ourBundles().stream().filter(b -> b.getSymbolicName().equals(symbolicName)).findFirst()
                .orElseThrow(() -> new AssertionError("bundle " + symbolicName + " is not installed"));
    }

    /** Polls until the condition holds; fails with the message after the timeout. */
    protected static void await(String what, long timeoutSeconds, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeoutSeconds + " s waiting for: " + what);
            }
            Thread.sleep(50);
        }
    }
}
