package org.iofog.agent.router.internal.store;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Who may receive what, as one immutable snapshot: the receivers each publisher's routes
 * name, and the (infotype, infoformat) pairs a receiver declared it accepts (no entry:
 * everything). Patterns are exact or end in {@code *} ({@code image/*}).
 */
public record Routing(Map<String, Set<String>> receiversByPublisher, Map<String, List<TypePattern>> acceptedTypes) {

    public static final Routing NONE = new Routing(Map.of(), Map.of());

    public Routing {
        receiversByPublisher = Map.copyOf(receiversByPublisher);
        acceptedTypes = Map.copyOf(acceptedTypes);
    }

    public Set<String> receiversOf(String publisher) {
        return receiversByPublisher.getOrDefault(publisher, Set.of());
    }

    public boolean routed(String publisher, String receiver) {
        return receiversOf(publisher).contains(receiver);
    }

    public boolean accepts(String receiver, String infoType, String infoFormat) {
        List<TypePattern> patterns = acceptedTypes.get(receiver);
        if (patterns == null) {
            return true;
        }
        for (TypePattern p : patterns) {
            if (p.matches(infoType, infoFormat)) {
                return true;
            }
        }
        return false;
    }

    /** One accepted (infotype, infoformat) pair; either part may end in {@code *}. */
    public record TypePattern(String infoType, String infoFormat) {

        public boolean matches(String type, String format) {
            return match(infoType, type) && match(infoFormat, format);
        }

        private static boolean match(String pattern, String value) {
            if (pattern.endsWith("*")) {
                return value.startsWith(pattern.substring(0, pattern.length() - 1));
            }
            return pattern.equals(value);
        }

        /** Parses "infotype:infoformat" (a missing format means any). */
        public static TypePattern parse(String text) {
            int colon = text.indexOf(':');
            return colon < 0 ? new TypePattern(text.trim(), "*")
                    : new TypePattern(text.substring(0, colon).trim(), text.substring(colon + 1).trim());
        }
    }
}
