"""The deployment files, checked without a cluster or a Docker daemon.

- Kubernetes manifests: validated against the Kubernetes 1.37 JSON schemas in strict mode
  (kubernetes-validate), then cross-checked: selectors match labels, ports and probes point
  at a real port and at routes the real app answers, the grace period covers preStop and the
  drain, every ConfigMap/Secret key is a setting the server reads.
- KServe: each container against the Kubernetes ``Container`` schema, the resource fields
  against the ServingRuntime / InferenceService API, and the runtime matching the service.
- Dockerfiles: non-root user, exposed port, health check on a real route.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import schema_contents
from referencing import Registry, Resource

from hub.api import Hub
from hub.cli.serve_cmd import SHUTDOWN_GRACE
from hub.server.app import create_app
from hub.settings import Settings, env_name

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S_VERSION = "1.37.0"
AWS_VARIABLES = {
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
}
# Fields of the KServe CRDs used here (serving.kserve.io, ServingRuntime v1alpha1 and
# InferenceService v1beta1 API reference): an unknown or misspelt key fails.
SERVING_RUNTIME_SPEC = {
    "affinity", "annotations", "builtInAdapter", "containers", "disabled", "grpcDataEndpoint",
    "grpcEndpoint", "hostIPC", "httpDataEndpoint", "imagePullSecrets", "labels", "multiModel",
    "nodeSelector", "protocolVersions", "replicas", "resourceClaims", "schedulerName",
    "storageHelper", "supportedModelFormats", "tolerations", "volumes", "workerSpec",
}  # fmt: skip
MODEL_FORMAT = {"name", "version", "autoSelect", "priority"}
ISVC_SPEC = {"predictor", "transformer", "explainer", "canary"}
ISVC_MODEL = {"modelFormat", "runtime", "protocolVersion", "storageUri", "storage", "args",
              "env", "resources", "ports", "image", "name"}  # fmt: skip


def _documents(folder: str) -> dict[str, dict]:
    docs = {}
    for path in sorted((DEPLOY / folder).glob("*.yaml")):
        loaded = list(yaml.safe_load_all(path.read_text()))
        assert len(loaded) == 1, path
        docs[path.name] = loaded[0]
    return docs


def _by_kind(docs: dict[str, dict]) -> dict[str, dict]:
    return {d["kind"]: d for d in docs.values()}


def _validate_definition(instance: dict, definition: str) -> None:
    """Validate ``instance`` against one Kubernetes definition (e.g. ``container-v1``)."""
    folder = f"kubernetes-json-schema/v{K8S_VERSION}-local-strict"
    schema = schema_contents(f"{folder}/{definition}.json", K8S_VERSION)
    definitions = schema_contents(f"{folder}/_definitions.json", K8S_VERSION)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    jsonschema.Draft202012Validator(schema, registry=registry).validate(instance)


@pytest.fixture
async def app_client(aiohttp_client, tmp_path: Path):  # type: ignore[no-untyped-def]
    hub = Hub(Settings.for_home(tmp_path / "home"))
    client = await aiohttp_client(create_app(hub))
    yield client
    await client.close()
    hub.close()


async def _assert_probe_answers(client, probe: dict, ports: dict[str, int], port: int) -> None:  # type: ignore[no-untyped-def]
    get = probe["httpGet"]
    target = get["port"]
    assert (ports[target] if isinstance(target, str) else target) == port
    resp = await client.get(get["path"])
    assert resp.status == 200, (get["path"], await resp.text())


def test_kubernetes_manifests_match_the_kubernetes_schemas() -> None:
    docs = _documents("kubernetes")
    kustomization = docs.pop("kustomization.yaml")
    assert sorted(kustomization["resources"]) == sorted(docs)
    for name, doc in docs.items():
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {exc.message}")


async def test_deployment_probes_ports_drain_and_settings(app_client) -> None:  # type: ignore[no-untyped-def]
    kinds = _by_kind(_documents("kubernetes"))
    deployment, service = kinds["Deployment"], kinds["Service"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert deployment["spec"]["replicas"] >= 2
    assert (
        kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"]
        == (deployment["metadata"]["name"])
    )

    (container,) = pod["spec"]["containers"]
    args = container["args"]
    assert args[0] == "serve" and args[args.index("--host") + 1] == "0.0.0.0"
    port = int(args[args.index("--port") + 1])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == port
    assert service["spec"]["ports"][0]["targetPort"] in ("http", port)

    # Probes point at the V2 health routes of the real app, which answer 200 once started.
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        await _assert_probe_answers(app_client, container[probe], ports, port)

    # Settings come only from the ConfigMap and the Secret, and each key is one the server
    # reads (an ONNXHUB_* setting or a standard AWS variable) with a valid value.
    config, secret = kinds["ConfigMap"], kinds["Secret"]
    refs = [(next(iter(e)), next(iter(e.values()))["name"]) for e in container["envFrom"]]
    assert refs == [
        ("configMapRef", config["metadata"]["name"]),
        ("secretRef", secret["metadata"]["name"]),
    ]
    known = {env_name(f.name) for f in dataclasses.fields(Settings)} | AWS_VARIABLES
    assert set(config["data"]) <= known and set(secret["stringData"]) <= known
    assert "ONNXHUB_DATABASE_URL" in secret["stringData"]  # the password stays in the Secret
    assert not {k for k in config["data"] if "SECRET" in k or "PASSWORD" in k}
    settings = Settings.from_env({**config["data"], **secret["stringData"]})
    assert settings.database_url.startswith("postgresql")
    assert settings.artifacts == config["data"]["ONNXHUB_ARTIFACTS"].rstrip("/")
    assert str(settings.artifacts).startswith("s3://")  # kept as a URL, not made a path

    # Graceful drain: preStop, then SIGTERM drains for drain_timeout (+ grace to write
    # responses), all inside the grace period.
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    assert grace >= pre_stop + settings.drain_timeout + SHUTDOWN_GRACE

    # The pod runs as the image's non-root user on a read-only root with writable cache/tmp.
    security = pod["spec"]["securityContext"]
    assert security["runAsNonRoot"] and security["runAsUser"] == _dockerfile_user("Dockerfile")
    assert container["securityContext"]["readOnlyRootFilesystem"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {settings.home.as_posix(), "/tmp"} <= mounts


async def test_kserve_runtime_and_inference_service(app_client) -> None:  # type: ignore[no-untyped-def]
    kinds = _by_kind(_documents("kserve"))
    runtime, service = kinds["ServingRuntime"], kinds["InferenceService"]
    assert runtime["apiVersion"] == "serving.kserve.io/v1alpha1"
    assert service["apiVersion"] == "serving.kserve.io/v1beta1"
    assert set(runtime["spec"]) <= SERVING_RUNTIME_SPEC
    for fmt in runtime["spec"]["supportedModelFormats"]:
        assert set(fmt) <= MODEL_FORMAT and isinstance(fmt["version"], str)
    assert set(service["spec"]) <= ISVC_SPEC
    model = service["spec"]["predictor"]["model"]
    assert set(model) <= ISVC_MODEL

    # The InferenceService selects this runtime, for a format and protocol it supports.
    assert model["runtime"] == runtime["metadata"]["name"]
    formats = {(f["name"], f.get("version")) for f in runtime["spec"]["supportedModelFormats"]}
    assert (model["modelFormat"]["name"], model["modelFormat"].get("version")) in formats
    assert model["protocolVersion"] in runtime["spec"]["protocolVersions"]

    (container,) = runtime["spec"]["containers"]
    _validate_definition(container, "container-v1")
    assert container["name"] == "kserve-container"  # the name KServe looks for
    script = container["args"][0]
    assert "{{.Name}}" in script and "/mnt/models" in script
    port = int(re.search(r"--port (\d+)", script).group(1))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert (
        ports["http"]
        == port
        == int(runtime["metadata"]["annotations"]["prometheus.kserve.io/port"])
    )
    for probe in ("readinessProbe", "livenessProbe"):
        await _assert_probe_answers(app_client, container[probe], ports, port)
    metrics = await app_client.get(runtime["metadata"]["annotations"]["prometheus.kserve.io/path"])
    assert metrics.status == 200


def _dockerfile(name: str) -> list[tuple[str, str]]:
    text = (DEPLOY / "docker" / name).read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def _dockerfile_user(name: str) -> int:
    users = [value for op, value in _dockerfile(name) if op == "USER"]
    return int(users[-1].split(":")[0])


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.cuda"])
async def test_dockerfiles_run_as_non_root_with_a_real_health_check(app_client, name: str) -> None:  # type: ignore[no-untyped-def]
    instructions = _dockerfile(name)
    ops = [op for op, _ in instructions]
    assert ops.count("FROM") == 2  # build stage, then a runtime stage without the sources
    assert _dockerfile_user(name) >= 1000
    assert ops.index("USER") > max(i for i, op in enumerate(ops) if op == "RUN")
    exposed = int(next(v for op, v in instructions if op == "EXPOSE"))
    cmd = yaml.safe_load(next(v for op, v in instructions if op == "CMD"))
    assert cmd[0] == "serve" and int(cmd[cmd.index("--port") + 1]) == exposed
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    check = next(v for op, v in instructions if op == "HEALTHCHECK")
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/[^'\"]+)", check)
    assert int(url.group(1)) == exposed and url.group(2) == "/v2/health/ready"
    assert (await app_client.get(url.group(2))).status == 200
    assert ("STOPSIGNAL", "SIGTERM") in instructions
    env = " ".join(v for op, v in instructions if op == "ENV")
    if name.endswith(".cuda"):
        assert "ONNXHUB_PROVIDERS=CUDAExecutionProvider,CPUExecutionProvider" in env
        assert "onnxruntime-gpu[cuda,cudnn]" in " ".join(v for op, v in instructions if op == "RUN")
