package org.iofog.agent.api.resources;

/**
 * One running microservice's container, from its cgroup.
 *
 * @param uuid        the microservice
 * @param cpuPercent  CPU used since the previous round, in % of one core (200 = two cores busy)
 * @param memoryBytes memory charged to the container, without the page cache it can give back
 *                    (what {@code docker stats} shows)
 */
public record MicroserviceUsage(String uuid, double cpuPercent, long memoryBytes) {
}
