package org.iofog.agent.devices.internal;

import java.util.Map;
import org.apache.commons.jexl3.JexlBuilder;
import org.apache.commons.jexl3.JexlEngine;
import org.apache.commons.jexl3.JexlException;
import org.apache.commons.jexl3.JexlExpression;
import org.apache.commons.jexl3.JexlFeatures;
import org.apache.commons.jexl3.MapContext;
import org.apache.commons.jexl3.introspection.JexlPermissions;

/**
 * A call's condition: a small expression over the node's and the device's attributes
 * ({@code node.type == 'fog' && node.load < 2 && device.app == 'thermo'}), evaluated by
 * Apache Commons JEXL in a restricted mode: no method calls, no object creation, no
 * assignments, loops, lambdas or scripts, and the restricted class permissions. Anything
 * else does not parse.
 */
final class Conditions {

    /** Why a condition does not hold. */
    enum Outcome { TRUE, FALSE, ILLEGAL }

    private static final JexlFeatures FEATURES = new JexlFeatures()
            .sideEffect(false).sideEffectGlobal(false).loops(false).newInstance(false).methodCall(false)
            .lambda(false).script(false).annotation(false).pragma(false).register(false).localVar(false);
    private final JexlEngine jexl = new JexlBuilder().permissions(JexlPermissions.RESTRICTED).features(FEATURES)
            .strict(true).safe(false).silent(false).cache(256).create();

    Outcome evaluate(String condition, Map<String, Object> node, Map<String, Object> device) {
        if (DeviceMessage.isNone(condition)) {
            return Outcome.TRUE;
        }
        try {
            JexlExpression e = jexl.createExpression(condition);
            Object value = e.evaluate(new MapContext(Map.of("node", node, "device", device)));
            if (value instanceof Boolean b) {
                return b ? Outcome.TRUE : Outcome.FALSE;
            }
            return Outcome.ILLEGAL;
        } catch (JexlException | ArithmeticException e) {
            return Outcome.ILLEGAL;
        }
    }
}
