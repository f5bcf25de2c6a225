/** The Debug Console system container: keeps routed messages per publisher and serves them over REST. */
package org.iofog.system.debugconsole;
