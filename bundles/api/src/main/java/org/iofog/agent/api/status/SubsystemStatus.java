package org.iofog.agent.api.status;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A subsystem's own account of itself.
 *
 * @param subsystem short stable name, e.g. "message-router"
 * @param state     its health
 * @param detail    one line an operator can act on
 * @param figures   counts worth showing (e.g. "microservices" -> 3); never invented
 */
public record SubsystemStatus(String subsystem, HealthState state, String detail, Map<String, Object> figures) {

    public SubsystemStatus {
        detail = detail == null ? "" : detail;
        // Kept in the subsystem's order: operators read them as written.
        figures = figures == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(figures));
    }
}
