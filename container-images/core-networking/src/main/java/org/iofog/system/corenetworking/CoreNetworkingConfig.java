package org.iofog.system.corenetworking;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;
import org.iofog.system.support.SystemContainer;

/**
 * Core Networking's configuration (docs/system-containers.md), as the controller sends it:
 * {@code {"mode":"public","host":"comsat1.example.org","port":35046,"connectioncount":60,
 * "passcode":"...","localhost":"iofog","localport":60401,"heartbeatfrequency":20000,
 * "heartbeatabsencethreshold":60000}}, plus the later {@code cert} (base64 DER of the
 * ComSat's certificate or its issuer) and {@code devmode} (plain TCP, for tests), and this
 * implementation's bounds, each with a safe default.
 */
record CoreNetworkingConfig(boolean privateMode, String host, int port, int connectionCount, String passcode,
                            String localHost, int localPort, long heartbeatMillis, long absenceMillis, String cert,
                            boolean devMode, int maxMessageBytes, int sendBufferCount, long sendBufferBytes,
                            long ackTimeoutMillis, int window) {

    static CoreNetworkingConfig parse(JsonNode c) {
        String mode = c.path("mode").asText("").trim().toLowerCase(Locale.ROOT);
        if (!mode.equals("public") && !mode.equals("private")) {
            throw new IllegalArgumentException("mode must be \"public\" or \"private\", not \"" + mode + "\"");
        }
        String host = c.path("host").asText("").trim();
        if (host.isEmpty()) {
            throw new IllegalArgumentException("host (the ComSat) is missing");
        }
        int port = (int) SystemContainer.number(c, "port", 0);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be 1..65535, not " + port);
        }
        boolean priv = mode.equals("private");
        int count = (int) SystemContainer.number(c, "connectioncount", 1);
        if (count < 1 || count > 1000) {
            throw new IllegalArgumentException("connectioncount must be 1..1000, not " + count);
        }
        String localHost = c.path("localhost").asText("").trim();
        int localPort = (int) SystemContainer.number(c, "localport", 0);
        if (!priv && (localHost.isEmpty() || localPort < 1 || localPort > 65535)) {
            throw new IllegalArgumentException("public mode needs localhost and a localport 1..65535");
        }
        long heartbeat = (long) SystemContainer.number(c, "heartbeatfrequency", 20_000);
        long absence = (long) SystemContainer.number(c, "heartbeatabsencethreshold", 60_000);
        if (heartbeat < 100 || absence < heartbeat) {
            throw new IllegalArgumentException("heartbeatfrequency must be at least 100 ms and "
                    + "heartbeatabsencethreshold at least as long");
        }
        int maxMessage = (int) SystemContainer.number(c, "maxmessagebytes", 4 << 20); // the Local API's frame limit
        int bufferCount = (int) SystemContainer.number(c, "sendbuffercount", 10_000);
        long bufferBytes = (long) SystemContainer.number(c, "sendbufferbytes", 64L << 20);
        long ackTimeout = (long) SystemContainer.number(c, "acktimeout", 5_000);
        int window = (int) SystemContainer.number(c, "window", 1_000);
        if (maxMessage < 64 || bufferCount < 1 || bufferBytes < maxMessage || ackTimeout < 100 || window < 1) {
            throw new IllegalArgumentException("maxmessagebytes >= 64, sendbuffercount >= 1, sendbufferbytes >= "
                    + "maxmessagebytes, acktimeout >= 100 and window >= 1 are required");
        }
        return new CoreNetworkingConfig(priv, host, port, count, c.path("passcode").asText(""), localHost, localPort,
                heartbeat, absence, c.path("cert").asText("").trim(), c.path("devmode").asBoolean(false),
                maxMessage, bufferCount, bufferBytes, ackTimeout, window);
    }

    String describe() {
        return (privateMode ? "private" : "public") + " mode, ComSat " + host + ":" + port + (devMode ? " (devmode: plain TCP)" : " (TLS)")
                + ", " + connectionCount + " connection(s)" + (privateMode ? "" : ", to " + localHost + ":" + localPort)
                + ", heartbeat " + heartbeatMillis + " ms, absence threshold " + absenceMillis + " ms";
    }
}
