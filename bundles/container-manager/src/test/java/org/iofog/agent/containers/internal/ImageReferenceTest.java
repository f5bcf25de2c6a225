package org.iofog.agent.containers.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ImageReferenceTest {

    private static final String DIGEST = "sha256:" + "ab".repeat(32);

    @Test
    void readsRegistryHostsWithPortsTagsAndDigests() {
        assertThat(ImageReference.parse("busybox")).isEqualTo(new ImageReference("docker.io", "busybox", "", ""));
        assertThat(ImageReference.parse("iofog/sensor:1.2")).isEqualTo(new ImageReference("docker.io", "iofog/sensor", "1.2", ""));
        assertThat(ImageReference.parse("127.0.0.1:5000/team/app:v1"))
                .isEqualTo(new ImageReference("127.0.0.1:5000", "127.0.0.1:5000/team/app", "v1", ""));
        assertThat(ImageReference.parse("registry.example.com/app@" + DIGEST))
                .isEqualTo(new ImageReference("registry.example.com", "registry.example.com/app", "", DIGEST));
        assertThat(ImageReference.parse("localhost/app:2@" + DIGEST))
                .isEqualTo(new ImageReference("localhost", "localhost/app", "2", DIGEST));
        // A port without a tag is not a tag.
        assertThat(ImageReference.parse("host:5000/app").tag()).isEmpty();
        assertThat(ImageReference.parse("host:5000/app").tagOrLatest()).isEqualTo("latest");
    }

    @Test
    void refusesWhatIsNotAReference() {
        assertThatThrownBy(() -> ImageReference.parse("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ImageReference.parse("app@sha256:short")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ImageReference.parse("two words")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void matchesRepoDigestsInDockersShortForm() {
        ImageReference hub = ImageReference.parse("docker.io/library/busybox:1");
        assertThat(hub.namesRepositoryOf("busybox@" + DIGEST)).isTrue();
        assertThat(hub.namesRepositoryOf("other@" + DIGEST)).isFalse();
        ImageReference own = ImageReference.parse("127.0.0.1:5000/app:1");
        assertThat(own.namesRepositoryOf("127.0.0.1:5000/app@" + DIGEST)).isTrue();
        assertThat(own.namesRepositoryOf("127.0.0.1:5001/app@" + DIGEST)).isFalse();
    }

    @Test
    void movesOntoAPrivateRegistry() {
        ImageReference moved = ImageReference.parse("team/app:3").onRegistry("https://reg.example.com:8443/");
        assertThat(moved).isEqualTo(new ImageReference("reg.example.com:8443", "reg.example.com:8443/team/app", "3", ""));
    }
}
