package org.iofog.agent.benchmarks;

/**
 * A benchmark's clean-up (its agents, their containers, its scratch directory), run once:
 * when the benchmark's {@code try} block ends, or when this JVM is stopped mid-run by a
 * signal (Ctrl-C, {@code kill}), where a {@code finally} block never runs and the agents'
 * containers and directories would be left behind. Then every process this JVM started
 * that still runs (a client JVM of an interrupted repetition) is stopped too.
 */
final class CleanUpOnExit implements AutoCloseable {

    /** The clean-up itself; it may throw, as the shell calls it makes do. */
    interface Action {
        void run() throws Exception;
    }

    private final Action action;
    private final Thread onSignal;
    private boolean done;

    CleanUpOnExit(Action action) {
        this.action = action;
        this.onSignal = new Thread(() -> {
            try {
                runOnce();
            } catch (Exception e) {
                System.err.println("clean-up on exit failed: " + e);
            }
        }, "benchmark-clean-up");
        Runtime.getRuntime().addShutdownHook(onSignal);
    }

    @Override
    public void close() throws Exception {
        try {
            Runtime.getRuntime().removeShutdownHook(onSignal);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs (or ran) it
        }
        runOnce();
    }

    private synchronized void runOnce() throws Exception {
        if (!done) {
            done = true;
            try {
                action.run();
            } finally {
                ProcessHandle.current().descendants().forEach(ProcessHandle::destroy);
            }
        }
    }
}
