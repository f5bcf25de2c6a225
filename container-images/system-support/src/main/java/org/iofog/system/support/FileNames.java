package org.iofog.system.support;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Publisher ids as file and folder names. The agent stamps publishers with microservice
 * uuids, but a relayed message may carry any string: letters, digits, '-', '_' and '.'
 * are kept, everything else (and a leading '.') is percent-encoded, so a name can never
 * be a path, hidden, or collide with another publisher's.
 */
public final class FileNames {

    private FileNames() {
    }

    public static String forPublisher(String publisher) {
        if (publisher.isEmpty()) {
            return "%";
        }
        StringBuilder out = new StringBuilder();
        byte[] bytes = publisher.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i++) {
            int b = bytes[i] & 0xFF;
            boolean safe = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-'
                    || b == '_' || (b == '.' && i > 0);
            if (safe) {
                out.append((char) b);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(b >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xF, 16)));
            }
        }
        return out.toString();
    }

    /** The publisher a name stands for (the inverse of {@link #forPublisher}). */
    public static String publisherOf(String name) {
        if (name.equals("%")) {
            return "";
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '%' && i + 2 < name.length()) {
                out.write(Integer.parseInt(name.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                out.write(c);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
