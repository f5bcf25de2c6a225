package org.iofog.agent.devices.internal;

import java.util.List;

/**
 * One message of the device protocol (docs/device-gateway.md): the map
 * {@code {cmd, opt, actname, actid, actarg, args}}, one per MQTT payload. The note's
 * bracketed lines list the values in this key order, so {@code REXEC-SYN cond actname
 * actid device_id args} is {@code cmd="REXEC-SYN", opt=cond, actname, actid,
 * actarg=device_id, args}. "No value" is {@code "_"} or {@code "-"}.
 *
 * @param encoding how it came, or how it goes out
 */
record DeviceMessage(String cmd, String opt, String actname, String actid, String actarg, List<Object> args,
                     Encoding encoding) {

    enum Encoding { CBOR, JSON }

    static final String NONE = "_";

    DeviceMessage {
        opt = orNone(opt);
        actname = orNone(actname);
        actid = orNone(actid);
        actarg = orNone(actarg);
        args = args == null ? List.of() : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(args));
    }

    static DeviceMessage of(String cmd, String opt, String actname, String actid, String actarg, List<Object> args,
                            Encoding encoding) {
        return new DeviceMessage(cmd, opt, actname, actid, actarg, args, encoding);
    }

    static boolean isNone(String value) {
        return value == null || value.isEmpty() || value.equals("_") || value.equals("-");
    }

    private static String orNone(String value) {
        return value == null ? NONE : value;
    }

    @Override
    public String toString() {
        return cmd + " " + opt + " " + actname + " " + actid + " " + actarg + " " + args;
    }
}
