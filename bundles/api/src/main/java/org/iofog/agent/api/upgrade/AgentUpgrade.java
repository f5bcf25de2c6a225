package org.iofog.agent.api.upgrade;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The agent's upgrade service. The controller's version command carries no version:
 * "upgrade" means the newest agent version the upgrade repository offers, "rollback" the
 * one before the current. Both keep every container running.
 */
@ProviderType
public interface AgentUpgrade {

    /** True when a newer version than the running one is available (reported as {@code isReadyToUpgrade}). */
    boolean readyToUpgrade();

    /** True when a previous version is kept to go back to (reported as {@code isReadyToRollback}). */
    boolean readyToRollback();

    /**
     * Upgrades to the newest version; returns once it is healthy, or throws after having
     * rolled back automatically.
     */
    String upgrade() throws UpgradeException;

    /**
     * Upgrades one feature of the agent ({@code iofog-message-router}, ...) or, when
     * {@code feature} is null, all of them; to {@code version}, or when null the newest
     * version offered. Returns once it is healthy, or throws after having rolled back.
     */
    String upgrade(String feature, String version) throws UpgradeException;

    /** Goes back to the previous version; returns once it is healthy. */
    String rollback() throws UpgradeException;

    /** The running agent version, each of its features' versions, what is offered, and the last operation. */
    String describe();
}
