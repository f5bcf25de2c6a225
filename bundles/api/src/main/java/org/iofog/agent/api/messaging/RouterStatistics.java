package org.iofog.agent.api.messaging;

import java.util.Map;

/**
 * @param processed      messages accepted since the store was opened (counters are not persisted)
 * @param perPublisher   messages accepted per publisher since the router started
 * @param messageSpeed   messages accepted per second, over the last few seconds
 * @param dropped        messages not delivered to a receiver, by reason: "noRoute" (its
 *                       publisher had no route; archived only), "type" (not a type it accepts), "unrouted" (its route was removed while queued),
 *                       "backlog" (the receiver's backlog budget), "disk" (the store's disk budget)
 * @param queueDepth     messages waiting per receiver (not yet acknowledged)
 * @param latencyMillis  publish-to-first-delivery latency quantiles ("p50", "p99", "max") over recent deliveries
 * @param storeBytes     disk used by the message store
 */
public record RouterStatistics(long processed, Map<String, Long> perPublisher, double messageSpeed,
                               Map<String, Long> dropped, Map<String, Long> queueDepth,
                               Map<String, Double> latencyMillis, long storeBytes) {
}
