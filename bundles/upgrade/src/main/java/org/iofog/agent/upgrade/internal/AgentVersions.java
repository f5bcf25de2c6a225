package org.iofog.agent.upgrade.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Maven version order for the agent's own versions: numeric parts compared as numbers,
 * and a {@code -SNAPSHOT} (or any qualifier) before the release it leads to, so
 * {@code 0.1.0-SNAPSHOT < 0.1.0 < 0.1.1 < 0.10.0}. (OSGi order puts a qualified version
 * after the release; features are named by the repository's Maven version.)
 */
final class AgentVersions {

    static final Comparator<String> ORDER = AgentVersions::compare;

    private AgentVersions() {
    }

    static int compare(String a, String b) {
        List<Object> pa = parts(a);
        List<Object> pb = parts(b);
        for (int i = 0; i < Math.max(pa.size(), pb.size()); i++) {
            Object x = i < pa.size() ? pa.get(i) : null;
            Object y = i < pb.size() ? pb.get(i) : null;
            int c = comparePart(x, y);
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    /** A missing part counts as 0 against a number and as "later" against a qualifier (the release). */
    private static int comparePart(Object x, Object y) {
        if (x == null && y == null) {
            return 0;
        }
        if (x == null) {
            return y instanceof Long n ? Long.compare(0, n) : 1;
        }
        if (y == null) {
            return x instanceof Long n ? Long.compare(n, 0) : -1;
        }
        if (x instanceof Long nx && y instanceof Long ny) {
            return Long.compare(nx, ny);
        }
        if (x instanceof Long) {
            return 1; // 1.0.1 > 1.0-beta
        }
        if (y instanceof Long) {
            return -1;
        }
        return ((String) x).compareToIgnoreCase((String) y);
    }

    private static List<Object> parts(String version) {
        List<Object> parts = new ArrayList<>();
        for (String p : version.split("[.-]")) {
            if (p.isEmpty()) {
                continue;
            }
            parts.add(p.chars().allMatch(Character::isDigit) && p.length() < 18 ? (Object) Long.parseLong(p) : p);
        }
        // Trailing zeros say nothing: 1.0 == 1.0.0.
        while (!parts.isEmpty() && parts.get(parts.size() - 1) instanceof Long n && n == 0 && parts.size() > 1
                && parts.get(parts.size() - 2) instanceof Long) {
            parts.remove(parts.size() - 1);
        }
        return parts;
    }
}
