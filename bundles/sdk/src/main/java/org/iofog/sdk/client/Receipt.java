package org.iofog.sdk.client;

/** What the agent answered for a published message: the id and timestamp it assigned. */
public record Receipt(String id, long timestamp) {
}
