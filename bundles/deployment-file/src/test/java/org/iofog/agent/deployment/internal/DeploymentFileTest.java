package org.iofog.agent.deployment.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.iofog.agent.api.desired.Microservice;
import org.junit.jupiter.api.Test;

class DeploymentFileTest {

    /** Verbatim from a real ioFog Controller 3.0.4 answer, plus an unknown field. */
    static final String CONTROLLER_SHAPED = """
            {"microservices":[{"uuid":"zBYHRNR6Bxgvk7Rp6RnKNdtPwPqBRLRL","imageId":"local/busybox:1",
            "config":"{\\"greeting\\":\\"hello\\",\\"count\\":3}","rebuild":true,"rootHostAccess":false,"logSize":1,
            "registryId":2,"portMappings":[{"portInternal":8080,"portExternal":18080,"isUdp":false}],
            "volumeMappings":[{"hostDestination":"/tmp/smoke-data","containerDestination":"/data","accessMode":"ro","type":"bind"}],
            "imageSnapshot":"","delete":false,"deleteWithCleanup":false,"env":[{"key":"KEY1","value":"value1"}],
            "extraHosts":[],"cmd":["sh","-c","sleep 3600"],"routes":["nPQBFVZD8gqhnzF9y7VNGXwZkdDVVxh2"],
            "isConsumer":false,"someFutureField":{"x":1}},
            {"uuid":"nPQBFVZD8gqhnzF9y7VNGXwZkdDVVxh2","imageId":"local/busybox:1","isConsumer":true}],
            "registries":[{"id":1,"url":"registry.hub.docker.com","isPublic":true,"isSecure":true,"certificate":"",
            "requiresCert":false,"username":"","password":"","userEmail":"","userId":null}]}
            """;

    @Test
    void readsTheControllersShapesIgnoringUnknownFields() throws Exception {
        DeploymentFile.Content content = DeploymentFile.parse(CONTROLLER_SHAPED.getBytes(UTF_8));

        assertThat(content.microservices()).extracting(Microservice::uuid)
                .containsExactly("zBYHRNR6Bxgvk7Rp6RnKNdtPwPqBRLRL", "nPQBFVZD8gqhnzF9y7VNGXwZkdDVVxh2");
        Microservice first = content.microservices().get(0);
        assertThat(first.config()).isEqualTo("{\"greeting\":\"hello\",\"count\":3}");
        assertThat(first.cmd()).containsExactly("sh", "-c", "sleep 3600");
        assertThat(first.portMappings().get(0).portExternal()).isEqualTo(18080);
        assertThat(first.volumeMappings().get(0).readOnly()).isTrue();
        assertThat(first.routes()).containsExactly("nPQBFVZD8gqhnzF9y7VNGXwZkdDVVxh2");
        assertThat(first.isConsumer()).isFalse();
        assertThat(first.rebuild()).isTrue();

        Microservice second = content.microservices().get(1);
        assertThat(second.isConsumer()).isTrue();
        assertThat(second.config()).isEqualTo("{}");
        assertThat(second.env()).isEmpty();

        assertThat(content.registries()).singleElement().satisfies(r -> {
            assertThat(r.isPublic()).isTrue();
            assertThat(r.url()).isEqualTo("registry.hub.docker.com");
        });
    }

    @Test
    void anEmptyFileMeansNothingToRunWithTheDefaultRegistries() throws Exception {
        DeploymentFile.Content content = DeploymentFile.parse("  \n".getBytes(UTF_8));
        assertThat(content.microservices()).isEmpty();
        assertThat(content.registries()).anyMatch(r -> r.isFromCache());
    }

    @Test
    void rejectsBrokenJsonSayingWhere() {
        assertThatThrownBy(() -> DeploymentFile.parse("{\"microservices\": [ {\"uuid\": }".getBytes(UTF_8)))
                .isInstanceOf(DeploymentFile.InvalidDeploymentFile.class)
                .hasMessageContaining("not valid JSON").hasMessageContaining("line 1");
    }

    @Test
    void rejectsDuplicateUuids() {
        String json = "{\"microservices\":[{\"uuid\":\"a\",\"imageId\":\"x\"},{\"uuid\":\"a\",\"imageId\":\"y\"}]}";
        assertThatThrownBy(() -> DeploymentFile.parse(json.getBytes(UTF_8)))
                .hasMessageContaining("uuid a appears twice");
    }

    @Test
    void rejectsAMicroserviceWithoutImage() {
        String json = "{\"microservices\":[{\"uuid\":\"a\"}]}";
        assertThatThrownBy(() -> DeploymentFile.parse(json.getBytes(UTF_8)))
                .hasMessageContaining("imageId is empty");
    }

    @Test
    void rejectsWrongTypesNamingTheItem() {
        String json = "{\"microservices\":[{\"uuid\":\"a\",\"imageId\":\"x\",\"portMappings\":\"8080\"}]}";
        assertThatThrownBy(() -> DeploymentFile.parse(json.getBytes(UTF_8)))
                .hasMessageContaining("microservices[0]");
        assertThatThrownBy(() -> DeploymentFile.parse("{\"microservices\":{}}".getBytes(UTF_8)))
                .hasMessageContaining("must be an array");
        assertThatThrownBy(() -> DeploymentFile.parse("[]".getBytes(UTF_8)))
                .hasMessageContaining("top level must be an object");
    }
}
