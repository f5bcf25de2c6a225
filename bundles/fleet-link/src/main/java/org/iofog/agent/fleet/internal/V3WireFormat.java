package org.iofog.agent.fleet.internal;

import jakarta.jms.BytesMessage;
import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.TextMessage;
import org.iofog.sdk.message.InvalidIoMessageException;
import org.iofog.sdk.message.IoMessage;
import org.iofog.sdk.message.IoMessageJson;

/**
 * How ioFog v3 agents put an ioMessage on the ioFog Router: an AMQP message whose body is
 * a string (a JMS text message) holding the message's JSON form (the Local API's REST
 * form: lower-case keys, Base64 context and content), sent to the address named by the
 * receiving microservice's uuid. Reading also takes the JSON as bytes (an AMQP data
 * section), which other AMQP clients may send.
 */
final class V3WireFormat {

    private V3WireFormat() {
    }

    static String text(IoMessage message) {
        return IoMessageJson.writeString(message);
    }

    /**
     * @throws InvalidIoMessageException when the body is not an ioMessage in JSON form
     */
    static IoMessage read(Message message) throws JMSException, InvalidIoMessageException {
        byte[] json;
        if (message instanceof TextMessage text) {
            String body = text.getText();
            if (body == null) {
                throw new InvalidIoMessageException("an empty text message");
            }
            return IoMessageJson.read(body);
        } else if (message instanceof BytesMessage bytes) {
            if (bytes.getBodyLength() > Integer.MAX_VALUE - 8) {
                throw new InvalidIoMessageException("a body too large for an ioMessage");
            }
            json = new byte[(int) bytes.getBodyLength()];
            bytes.readBytes(json);
        } else {
            throw new InvalidIoMessageException("neither text nor bytes: " + message.getClass().getSimpleName());
        }
        return IoMessageJson.read(json);
    }
}
