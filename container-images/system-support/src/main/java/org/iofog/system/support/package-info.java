/** What the ioFog system containers share: SDK life cycle and their REST plumbing. */
package org.iofog.system.support;
