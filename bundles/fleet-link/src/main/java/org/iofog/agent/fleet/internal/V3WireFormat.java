package org.iofog.agent.fleet.internal;

import java.util.Arrays;
import org.apache.qpid.proton.amqp.Binary;
import org.apache.qpid.proton.amqp.messaging.AmqpValue;
import org.apache.qpid.proton.amqp.messaging.Data;
import org.apache.qpid.proton.amqp.messaging.Section;
import org.iofog.sdk.message.InvalidIoMessageException;
import org.iofog.sdk.message.IoMessage;
import org.iofog.sdk.message.IoMessageJson;

/**
 * How ioFog v3 agents put an ioMessage on the ioFog Router: an AMQP message whose body is
 * a string (an {@code amqp-value} section: what Qpid JMS sends for a text message) holding
 * the message's JSON form (the Local API's REST form: lower-case keys, Base64 context and
 * content), sent to the address named by the receiving microservice's uuid. Reading also
 * takes the JSON as bytes (a {@code data} section, a JMS bytes message), which other AMQP
 * clients may send.
 */
final class V3WireFormat {

    private V3WireFormat() {
    }

    static String text(IoMessage message) {
        return IoMessageJson.writeString(message);
    }

    /**
     * @param body the AMQP message's body; null when it had none or was not an AMQP message
     * @throws InvalidIoMessageException when the body is not an ioMessage in JSON form
     */
    static IoMessage read(Section body) throws InvalidIoMessageException {
        Object content;
        if (body instanceof AmqpValue value) {
            content = value.getValue();
        } else if (body instanceof Data data) {
            content = data.getValue();
        } else {
            throw new InvalidIoMessageException(body == null ? "no body" : "neither text nor bytes: "
                    + body.getClass().getSimpleName());
        }
        if (content instanceof String text) {
            return IoMessageJson.read(text);
        } else if (content instanceof Binary bytes) {
            byte[] array = bytes.getArray();
            boolean whole = bytes.getArrayOffset() == 0 && bytes.getLength() == array.length;
            return IoMessageJson.read(whole ? array
                    : Arrays.copyOfRange(array, bytes.getArrayOffset(), bytes.getArrayOffset() + bytes.getLength()));
        }
        throw new InvalidIoMessageException(content == null ? "an empty body" : "neither text nor bytes: "
                + content.getClass().getSimpleName());
    }
}
