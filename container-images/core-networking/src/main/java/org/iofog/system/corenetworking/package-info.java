/** The Core Networking system container: the ComSat client, public and private mode. */
package org.iofog.system.corenetworking;
