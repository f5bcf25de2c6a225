/** The Stream Viewer system container: turns routed messages into files per publisher and serves them. */
package org.iofog.system.streamviewer;
