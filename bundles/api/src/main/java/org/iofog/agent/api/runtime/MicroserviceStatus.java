package org.iofog.agent.api.runtime;

/**
 * One microservice as it runs (or does not) on this node.
 *
 * @param uuid          the microservice
 * @param state         its state in the controller's vocabulary
 * @param containerId   the Docker container id, "" when there is none
 * @param ipAddress     the container's address on its network, "" when unknown (host network: "")
 * @param image         the image actually run: a digest-pinned reference or a local image id
 * @param startTime     when the container last started (ms since the epoch), 0 when not running
 * @param percentage    pull progress 0..100 while {@link MicroserviceState#PULLING}
 * @param restarts      restarts by the agent since the last healthy run
 * @param errorMessage  why it is not running as asked, "" when nothing is wrong
 */
public record MicroserviceStatus(String uuid, MicroserviceState state, String containerId, String ipAddress,
                                 String image, long startTime, int percentage, int restarts,
                                 String errorMessage) {

    public MicroserviceStatus {
        containerId = containerId == null ? "" : containerId;
        ipAddress = ipAddress == null ? "" : ipAddress;
        image = image == null ? "" : image;
        errorMessage = errorMessage == null ? "" : errorMessage;
    }

    /** How long it has been running at {@code nowMillis}, 0 when it is not running. */
    public long operatingDuration(long nowMillis) {
        return state == MicroserviceState.RUNNING && startTime > 0 ? Math.max(0, nowMillis - startTime) : 0;
    }
}
