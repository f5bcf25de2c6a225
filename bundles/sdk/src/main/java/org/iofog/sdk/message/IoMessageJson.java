package org.iofog.sdk.message;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Base64;

/**
 * The JSON form of an ioMessage (REST bodies): lower-case keys, {@code contextdata} and
 * {@code contentdata} in standard Base64, missing strings "" and missing numbers 0.
 * Reading is liberal (unknown keys ignored, {@code null} as missing, integral floats such
 * as the {@code 0.0} older docs show for difficultytarget, numbers given as strings) and
 * strict where guessing would change meaning (a non-integral number, bad Base64, a
 * version other than 4, an over-long field).
 */
public final class IoMessageJson {

    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
            .build();

    private IoMessageJson() {
    }

    public static byte[] write(IoMessage m) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + (m.contentLength() + m.contextLength()) * 4 / 3);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            write(m, g);
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory cannot fail", e);
        }
        return out.toByteArray();
    }

    /**
     * The JSON as a string, as ioFog v3 agents carry a message on the ioFog Router (an AMQP
     * string). Written as characters straight away: encoding to UTF-8 bytes and decoding
     * them again would copy every message twice more.
     *
     * @since 1.1
     */
    public static String writeString(IoMessage m) {
        // The keys and punctuation alone are some 270 characters: room for them and typical values.
        StringWriter out = new StringWriter(512 + (m.contentLength() + m.contextLength()) * 4 / 3);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            write(m, g);
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory cannot fail", e);
        }
        return out.toString();
    }

    /** Writes one message as a JSON object, e.g. as an element of a "messages" array. */
    public static void write(IoMessage m, JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeStringField("id", m.id());
        g.writeStringField("tag", m.tag());
        g.writeStringField("groupid", m.groupId());
        g.writeNumberField("sequencenumber", m.sequenceNumber());
        g.writeNumberField("sequencetotal", m.sequenceTotal());
        g.writeNumberField("priority", m.priority() & 0xFF);
        g.writeNumberField("timestamp", m.timestamp());
        g.writeStringField("publisher", m.publisher());
        g.writeStringField("authid", m.authId());
        g.writeStringField("authgroup", m.authGroup());
        g.writeNumberField("version", IoMessage.VERSION);
        g.writeNumberField("chainposition", m.chainPosition());
        g.writeStringField("hash", m.hash());
        g.writeStringField("previoushash", m.previousHash());
        g.writeStringField("nonce", m.nonce());
        g.writeNumberField("difficultytarget", m.difficultyTarget());
        g.writeStringField("infotype", m.infoType());
        g.writeStringField("infoformat", m.infoFormat());
        g.writeStringField("contextdata", Base64.getEncoder().encodeToString(m.contextDataUnsafe()));
        g.writeStringField("contentdata", Base64.getEncoder().encodeToString(m.contentDataUnsafe()));
        g.writeEndObject();
    }

    public static IoMessage read(byte[] json) throws InvalidIoMessageException {
        try (JsonParser p = JSON.createParser(json)) {
            return readWhole(p);
        } catch (IOException e) {
            throw new InvalidIoMessageException("not valid JSON: " + e.getMessage(), e);
        }
    }

    /**
     * Reads a message from its JSON as a string (as from {@link #writeString}), without
     * encoding it to bytes first.
     *
     * @since 1.1
     */
    public static IoMessage read(String json) throws InvalidIoMessageException {
        try (JsonParser p = JSON.createParser(json)) {
            return readWhole(p);
        } catch (IOException e) {
            throw new InvalidIoMessageException("not valid JSON: " + e.getMessage(), e);
        }
    }

    /** The one message object the parser's input holds, nothing before or after it. */
    private static IoMessage readWhole(JsonParser p) throws IOException, InvalidIoMessageException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw new InvalidIoMessageException("an ioMessage must be a JSON object");
        }
        IoMessage m = read(p);
        if (p.nextToken() != null) {
            throw new InvalidIoMessageException("unexpected content after the message object");
        }
        return m;
    }

    /** Reads one message object; the parser must be on its START_OBJECT and is left on its END_OBJECT. */
    public static IoMessage read(JsonParser p) throws IOException, InvalidIoMessageException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new InvalidIoMessageException("an ioMessage must be a JSON object");
        }
        IoMessage.Builder b = IoMessage.builder();
        byte[] context = null;
        byte[] content = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "id": b.id = string(p, field); break;
                case "tag": b.tag = string(p, field); break;
                case "groupid": b.groupId = string(p, field); break;
                case "sequencenumber": b.sequenceNumber = (int) number(p, field, Integer.MIN_VALUE, 0xFFFFFFFFL); break;
                case "sequencetotal": b.sequenceTotal = (int) number(p, field, Integer.MIN_VALUE, 0xFFFFFFFFL); break;
                case "priority": b.priority = (byte) number(p, field, Byte.MIN_VALUE, 0xFF); break;
                case "timestamp": b.timestamp = number(p, field, Long.MIN_VALUE, Long.MAX_VALUE); break;
                case "publisher": b.publisher = string(p, field); break;
                case "authid": b.authId = string(p, field); break;
                case "authgroup": b.authGroup = string(p, field); break;
                case "version":
                    if (value != JsonToken.VALUE_NULL) {
                        long v = number(p, field, Long.MIN_VALUE, Long.MAX_VALUE);
                        if (v != IoMessage.VERSION) {
                            throw new InvalidIoMessageException("unsupported version " + v + " (only 4 exists)");
                        }
                    }
                    break;
                case "chainposition": b.chainPosition = number(p, field, Long.MIN_VALUE, Long.MAX_VALUE); break;
                case "hash": b.hash = string(p, field); break;
                case "previoushash": b.previousHash = string(p, field); break;
                case "nonce": b.nonce = string(p, field); break;
                case "difficultytarget": b.difficultyTarget = (int) number(p, field, Integer.MIN_VALUE, 0xFFFFFFFFL); break;
                case "infotype": b.infoType = string(p, field); break;
                case "infoformat": b.infoFormat = string(p, field); break;
                case "contextdata": context = base64(p, field); break;
                case "contentdata": content = base64(p, field); break;
                default: p.skipChildren(); // a field a newer SDK added
            }
        }
        if (p.currentToken() != JsonToken.END_OBJECT) {
            throw new InvalidIoMessageException("unterminated message object");
        }
        try {
            IoMessage m = new IoMessage(b, context == null ? new byte[0] : context, content == null ? new byte[0] : content);
            IoMessageCodec.checkFieldLengths(m);
            return m;
        } catch (IllegalArgumentException e) {
            throw new InvalidIoMessageException(e.getMessage());
        }
    }

    private static String string(JsonParser p, String field) throws IOException, InvalidIoMessageException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_STRING) {
            return p.getText();
        }
        if (t == JsonToken.VALUE_NULL) {
            return "";
        }
        throw new InvalidIoMessageException(field + " must be a string, not " + describe(t));
    }

    private static long number(JsonParser p, String field, long min, long max) throws IOException, InvalidIoMessageException {
        JsonToken t = p.currentToken();
        long v;
        switch (t) {
            case VALUE_NULL:
                return 0;
            case VALUE_NUMBER_INT:
                if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                    throw new InvalidIoMessageException(field + " " + p.getText() + " is out of range");
                }
                v = p.getLongValue();
                break;
            case VALUE_NUMBER_FLOAT:
                double d = p.getDoubleValue();
                if (d != Math.rint(d) || Double.isInfinite(d) || Math.abs(d) > 9.0e18) {
                    throw new InvalidIoMessageException(field + " must be a whole number, got " + p.getText());
                }
                v = (long) d;
                break;
            case VALUE_STRING:
                String s = p.getText().trim();
                if (s.isEmpty()) {
                    return 0;
                }
                try {
                    v = Long.parseLong(s);
                } catch (NumberFormatException e) {
                    throw new InvalidIoMessageException(field + " must be a number, got \"" + s + "\"");
                }
                break;
            default:
                throw new InvalidIoMessageException(field + " must be a number, not " + describe(t));
        }
        if (v < min || v > max) {
            throw new InvalidIoMessageException(field + " " + v + " is out of range");
        }
        return v;
    }

    private static byte[] base64(JsonParser p, String field) throws IOException, InvalidIoMessageException {
        String s = string(p, field);
        try {
            return Base64.getDecoder().decode(s);
        } catch (IllegalArgumentException e) {
            throw new InvalidIoMessageException(field + " is not standard Base64: " + e.getMessage());
        }
    }

    private static String describe(JsonToken t) {
        switch (t) {
            case START_OBJECT: return "an object";
            case START_ARRAY: return "an array";
            case VALUE_TRUE: case VALUE_FALSE: return "a boolean";
            case VALUE_NUMBER_INT: case VALUE_NUMBER_FLOAT: return "a number";
            default: return String.valueOf(t);
        }
    }
}
