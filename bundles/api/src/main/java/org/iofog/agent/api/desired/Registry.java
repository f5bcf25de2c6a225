package org.iofog.agent.api.desired;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * An image registry from {@code GET agent/registries}. The registry with id
 * {@link #FROM_CACHE_ID} is not a registry: it means "use the local image, never pull".
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Registry(int id, String url, @JsonProperty("isPublic") boolean isPublic,
                       String username, String password, String userEmail) {

    public static final int FROM_CACHE_ID = 2;

    public Registry {
        url = url == null ? "" : url;
        username = username == null ? "" : username;
        password = password == null ? "" : password;
        userEmail = userEmail == null ? "" : userEmail;
    }

    public boolean isFromCache() {
        return id == FROM_CACHE_ID || "from_cache".equals(url);
    }

    /** Credentials never appear in logs or status output. */
    @Override
    public String toString() {
        return "Registry[id=" + id + ", url=" + url + ", isPublic=" + isPublic
                + ", username=" + username + ", password=" + (password.isEmpty() ? "" : "***") + "]";
    }
}
