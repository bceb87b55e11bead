"""Offline checks of deploy/: the kustomize tree, Kubernetes schemas, hardening, the dashboard, the Dockerfile.

No cluster, kubectl, kustomize or docker is needed. `render()` below is a small kustomize subset (resources,
namespace, images, JSON 6902 patches): it refuses any other kustomization field, so the overlay cannot silently
use something this test does not model. Every rendered object is validated against the real Kubernetes
OpenAPI schemas shipped by `kubernetes-validate` (strict: unknown fields fail); the KEDA ScaledObject, a CRD
it does not know, is checked structurally instead.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import kubernetes_validate
import pytest
import yaml

from acx.config import _FIELDS as CONFIG_ENV_NAMES
from acx.config import load_settings

Manifest = dict[str, Any]

DEPLOY: Final = Path(__file__).resolve().parents[2] / "deploy"
BASE: Final = DEPLOY / "k8s" / "base"
OVERLAY: Final = DEPLOY / "k8s" / "overlays" / "example"

# The oldest Kubernetes release the manifests target, and the newest schema set the package ships.
K8S_VERSIONS: Final = ("1.30.0", kubernetes_validate.latest_version())

# CRDs kubernetes-validate has no schema for; each one has a structural test below.
CRDS: Final = {("keda.sh/v1alpha1", "ScaledObject")}
CLUSTER_SCOPED_KINDS: Final = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
SUPPORTED_KUSTOMIZATION_KEYS: Final = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}

GATEWAY: Final = "acx-gateway"
CONVERTER: Final = "acx-converter"

# Environment variables the services read besides acx.config's (granian workers, prometheus-client).
EXTRA_ENV_NAMES: Final = {"WEB_WORKERS", "PROMETHEUS_MULTIPROC_DIR"}
SECRET_ENV_NAMES: Final = {"DATABASE_URL", "REDIS_URL", "ROOT_API_BEARER_TOKEN", "SECRET_PEPPER"}

COUNTERS: Final = {
    "acx_http_requests_total",
    "acx_messages_stored_total",
    "acx_messages_read_total",
    "acx_render_jobs_total",
    "acx_rendering_cache_lookups_total",
}
HISTOGRAMS: Final = {"acx_http_request_duration_seconds", "acx_render_duration_seconds"}
GAUGES: Final = {
    "acx_queue_depth",
    "acx_oldest_unrendered_age_seconds",
    "acx_db_pool_connections",
    "acx_db_pool_max",
    "acx_db_pool_waiting",
}
METRICS: Final = COUNTERS | HISTOGRAMS | GAUGES


# ---- a small, strict kustomize ----------------------------------------------------------------------------


def _load_docs(path: Path) -> list[Manifest]:
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for doc in docs:
        assert isinstance(doc, dict), f"{path}: every YAML document must be a mapping"
    return docs


def _pointer(path: str) -> list[str]:
    assert path.startswith("/"), f"JSON pointer must start with '/': {path!r}"
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _json_patch(doc: Manifest, operations: list[dict[str, Any]]) -> None:
    """RFC 6902 add / replace / remove, in place; a path that does not resolve is an error (as in kustomize)."""
    for operation in operations:
        op, *parents, last = [operation["op"], *_pointer(operation["path"])]
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        value = copy.deepcopy(operation.get("value"))
        if isinstance(node, list):
            if op == "add":
                node.insert(len(node) if last == "-" else int(last), value)
            elif op == "replace":
                node[int(last)] = value
            elif op == "remove":
                del node[int(last)]
            else:
                raise AssertionError(f"unsupported JSON patch op {op!r}")
        elif op == "add":
            node[last] = value
        elif op in ("replace", "remove"):
            assert last in node, f"{op} of a missing path {operation['path']!r}"
            if op == "replace":
                node[last] = value
            else:
                del node[last]
        else:
            raise AssertionError(f"unsupported JSON patch op {op!r}")


def _matches(manifest: Manifest, target: dict[str, str]) -> bool:
    unsupported = set(target) - {"group", "version", "kind", "name"}
    assert not unsupported, f"patch target selectors not modelled by this test: {sorted(unsupported)}"
    group, _, version = manifest["apiVersion"].rpartition("/")
    actual = {"group": group, "version": version, "kind": manifest["kind"], "name": manifest["metadata"]["name"]}
    return all(actual[key] == value for key, value in target.items())


def _containers(manifest: Manifest) -> list[dict[str, Any]]:
    pod = pod_spec(manifest)
    return [*pod.get("initContainers", []), *pod.get("containers", [])] if pod else []


def _set_image(manifests: list[Manifest], image: dict[str, str]) -> None:
    replaced = 0
    for container in (c for m in manifests for c in _containers(m)):
        name = re.split(r"[@]|:(?=[^/]*$)", container["image"])[0]
        if name == image["name"]:
            new = image.get("newName", name)
            if "digest" in image:
                new += "@" + image["digest"]
            elif "newTag" in image:
                new += ":" + image["newTag"]
            container["image"] = new
            replaced += 1
    assert replaced, f"images: {image['name']!r} matches no container"


def render(directory: Path) -> list[Manifest]:
    """What `kustomize build directory` prints, for the subset of kustomize the deploy tree uses."""
    kustomization = _load_docs(directory / "kustomization.yaml")[0]
    unsupported = set(kustomization) - SUPPORTED_KUSTOMIZATION_KEYS
    assert not unsupported, f"{directory}: kustomization fields not modelled by this test: {sorted(unsupported)}"
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        manifests.extend(render(path) if path.is_dir() else _load_docs(path))
    for patch in kustomization.get("patches", []):
        operations = yaml.safe_load(patch["patch"] if "patch" in patch else (directory / patch["path"]).read_text())
        assert isinstance(operations, list), "only JSON 6902 patches (a list of operations) are modelled"
        targets = [m for m in manifests if _matches(m, patch["target"])]
        assert targets, f"patch target {patch['target']} matches nothing"
        for manifest in targets:
            _json_patch(manifest, operations)
    for image in kustomization.get("images", []):
        _set_image(manifests, image)
    if namespace := kustomization.get("namespace"):
        for manifest in manifests:
            if manifest["kind"] not in CLUSTER_SCOPED_KINDS:
                manifest["metadata"]["namespace"] = namespace
    keys = [(m["kind"], m["metadata"]["name"]) for m in manifests]
    assert len(keys) == len(set(keys)), f"{directory}: duplicate resources {keys}"
    return manifests


# ---- helpers ----------------------------------------------------------------------------------------------


def pod_spec(manifest: Manifest) -> dict[str, Any] | None:
    if manifest["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        spec: dict[str, Any] = manifest["spec"]["template"]["spec"]
        return spec
    return None


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected exactly one {kind}/{name}"
    return found[0]


def container(manifests: list[Manifest], kind: str, name: str) -> dict[str, Any]:
    containers = _containers(find(manifests, kind, name))
    assert len(containers) == 1, f"{kind}/{name}: expected a single container"
    return containers[0]


def port_number(container_spec: dict[str, Any], port: int | str) -> int:
    """Resolve a probe or Service port (number or container port name)."""
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for p in container_spec.get("ports", []) if p.get("name") == port]
    assert named, f"container {container_spec['name']} has no port named {port!r}"
    return int(named[0])


def manifest_id(manifest: Manifest) -> str:
    return f"{manifest['kind']}/{manifest['metadata']['name']}"


OVERLAY_MANIFESTS: Final = render(OVERLAY)
BASE_MANIFESTS: Final = render(BASE)


@pytest.fixture
def overlay() -> list[Manifest]:
    return copy.deepcopy(OVERLAY_MANIFESTS)


@pytest.fixture
def base() -> list[Manifest]:
    return copy.deepcopy(BASE_MANIFESTS)


# ---- rendering --------------------------------------------------------------------------------------------


def test_base_lists_every_manifest_file() -> None:
    kustomization = _load_docs(BASE / "kustomization.yaml")[0]
    on_disk = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk


def test_overlay_renders_the_whole_application(overlay: list[Manifest]) -> None:
    assert sorted(manifest_id(m) for m in overlay) == sorted(
        [
            "ConfigMap/acx-config",
            "Secret/acx-secrets",
            "Job/acx-migrate",
            f"Deployment/{GATEWAY}",
            f"Service/{GATEWAY}",
            f"HorizontalPodAutoscaler/{GATEWAY}",
            f"PodDisruptionBudget/{GATEWAY}",
            f"Deployment/{CONVERTER}",
            f"ScaledObject/{CONVERTER}",
            f"PodDisruptionBudget/{CONVERTER}",
        ]
    )
    assert {m["metadata"].get("namespace") for m in overlay} == {"acx"}
    images = {c["image"] for m in overlay for c in _containers(m)}
    assert images == {"registry.example.com/acx/acx:0.1.0"}


def test_overlay_patches_took_effect(overlay: list[Manifest]) -> None:
    assert find(overlay, "ConfigMap", "acx-config")["data"]["EXTERNAL_URL"].startswith("https://")
    hpa = find(overlay, "HorizontalPodAutoscaler", GATEWAY)["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 12)
    assert find(overlay, "ScaledObject", CONVERTER)["spec"]["maxReplicaCount"] == 10
    assert container(overlay, "Deployment", GATEWAY)["resources"]["limits"]["memory"] == "1Gi"


def test_json_patch_rejects_a_missing_path() -> None:
    with pytest.raises(AssertionError, match="missing path"):
        _json_patch({"spec": {}}, [{"op": "replace", "path": "/spec/replicas", "value": 2}])


# ---- Kubernetes schemas -----------------------------------------------------------------------------------


SCHEMA_CASES: Final = [
    pytest.param(m, version, id=f"{tree}:{manifest_id(m)}@{version}")
    for tree, manifests in (("overlay", OVERLAY_MANIFESTS), ("base", BASE_MANIFESTS))
    for m in manifests
    if (m["apiVersion"], m["kind"]) not in CRDS
    for version in K8S_VERSIONS
]


@pytest.mark.parametrize(("manifest", "version"), SCHEMA_CASES)
def test_manifest_matches_kubernetes_schema(manifest: Manifest, version: str) -> None:
    # Strict: additionalProperties are rejected, so a misspelt or misplaced field fails here.
    kubernetes_validate.validate(manifest, version, strict=True)


def test_schema_validation_catches_a_misplaced_field(overlay: list[Manifest]) -> None:
    deployment = find(overlay, "Deployment", GATEWAY)
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["path"] = "/readyz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)


@pytest.mark.parametrize("manifests", [BASE_MANIFESTS, OVERLAY_MANIFESTS], ids=["base", "overlay"])
def test_keda_scaledobject_structure(manifests: list[Manifest]) -> None:
    scaled = find(manifests, "ScaledObject", CONVERTER)
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    spec = scaled["spec"]
    assert set(spec) <= {
        "scaleTargetRef",
        "minReplicaCount",
        "maxReplicaCount",
        "pollingInterval",
        "cooldownPeriod",
        "idleReplicaCount",
        "fallback",
        "advanced",
        "triggers",
    }
    target = spec["scaleTargetRef"]
    assert target["name"] == CONVERTER
    assert target.get("kind", "Deployment") == "Deployment"
    find(manifests, "Deployment", target["name"])
    assert isinstance(spec["minReplicaCount"], int)
    assert isinstance(spec["maxReplicaCount"], int)
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    trigger = spec["triggers"][0]
    assert trigger["type"] == "prometheus"
    metadata = trigger["metadata"]
    # KEDA trigger metadata values are strings.
    assert all(isinstance(value, str) for value in metadata.values())
    assert "acx_queue_depth" in metadata["query"]
    assert float(metadata["threshold"]) > 0
    assert re.fullmatch(r"https?://[^\s/]+(:\d+)?/?", metadata["serverAddress"])


def test_base_scaledobject_bounds(base: list[Manifest]) -> None:
    spec = find(base, "ScaledObject", CONVERTER)["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 20)


# ---- hardening --------------------------------------------------------------------------------------------


WORKLOADS: Final = [m for m in OVERLAY_MANIFESTS if pod_spec(m) is not None]


def _effective(pod: dict[str, Any], container_spec: dict[str, Any], key: str) -> Any:
    return container_spec.get("securityContext", {}).get(key, pod.get("securityContext", {}).get(key))


@pytest.mark.parametrize("workload", WORKLOADS, ids=manifest_id)
def test_workload_is_hardened(workload: Manifest) -> None:
    pod = pod_spec(workload)
    assert pod is not None
    assert pod.get("automountServiceAccountToken") is False
    config_names = {m["metadata"]["name"] for m in OVERLAY_MANIFESTS if m["kind"] == "ConfigMap"}
    secret_names = {m["metadata"]["name"] for m in OVERLAY_MANIFESTS if m["kind"] == "Secret"}
    empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    for c in _containers(workload):
        assert _effective(pod, c, "runAsNonRoot") is True, c["name"]
        assert _effective(pod, c, "runAsUser") not in (None, 0), c["name"]
        assert _effective(pod, c, "seccompProfile") == {"type": "RuntimeDefault"}, c["name"]
        security = c["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, c["name"]
        assert security["allowPrivilegeEscalation"] is False, c["name"]
        assert security.get("privileged", False) is False, c["name"]
        assert security["capabilities"]["drop"] == ["ALL"], c["name"]
        assert "add" not in security["capabilities"], c["name"]
        resources = c["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), c["name"]
        assert "memory" in resources["limits"], c["name"]
        # Read-only root: /tmp must be a writable emptyDir.
        assert {m["name"] for m in c["volumeMounts"] if m["mountPath"] == "/tmp"} <= empty_dirs, c["name"]
        assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"]), c["name"]
        # Configuration comes from the shared ConfigMap and Secret, which must exist.
        sources = c["envFrom"]
        assert {s["configMapRef"]["name"] for s in sources if "configMapRef" in s} <= config_names
        assert {s["secretRef"]["name"] for s in sources if "secretRef" in s} <= secret_names
        assert len(sources) == 2


def test_gateway_probes_shutdown_and_metrics(overlay: list[Manifest]) -> None:
    deployment = find(overlay, "Deployment", GATEWAY)
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    pod = deployment["spec"]["template"]
    gateway = container(overlay, "Deployment", GATEWAY)
    config = find(overlay, "ConfigMap", "acx-config")["data"]
    port = int(config["PORT"])
    assert config["HOST"] == "0.0.0.0"
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")):
        http = gateway[probe]["httpGet"]
        assert (http["path"], port_number(gateway, http["port"])) == (path, port)
    command = gateway["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    sleep = int(command[1])
    assert 3 <= sleep < pod["spec"]["terminationGracePeriodSeconds"] <= 60
    assert "python -m acx_gateway" in " ".join(gateway["command"])
    assert " ".join(gateway["command"]).count("exec python") == 1, "python must replace the shell (PID 1, SIGTERM)"
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert (annotations["prometheus.io/path"], int(annotations["prometheus.io/port"])) == ("/metrics", port)
    # Multiprocess metrics need a writable, per-pod directory.
    multiproc = next(e["value"] for e in gateway["env"] if e["name"] == "PROMETHEUS_MULTIPROC_DIR")
    mounts = {m["mountPath"]: m["name"] for m in gateway["volumeMounts"]}
    assert "emptyDir" in next(v for v in pod["spec"]["volumes"] if v["name"] == mounts[multiproc])


def test_service_and_pdbs_select_their_pods(overlay: list[Manifest]) -> None:
    service = find(overlay, "Service", GATEWAY)["spec"]
    gateway_labels = find(overlay, "Deployment", GATEWAY)["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= gateway_labels.items()
    gateway = container(overlay, "Deployment", GATEWAY)
    assert port_number(gateway, service["ports"][0]["targetPort"]) == int(
        find(overlay, "ConfigMap", "acx-config")["data"]["PORT"]
    )
    for name in (GATEWAY, CONVERTER):
        deployment = find(overlay, "Deployment", name)["spec"]
        selector = find(overlay, "PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"]
        assert selector == deployment["selector"]["matchLabels"]
        assert selector.items() <= deployment["template"]["metadata"]["labels"].items()
    # The two components must not select each other's pods.
    converter_labels = find(overlay, "Deployment", CONVERTER)["spec"]["template"]["metadata"]["labels"]
    assert not service["selector"].items() <= converter_labels.items()


def test_hpa_scales_the_gateway_on_cpu(overlay: list[Manifest]) -> None:
    hpa = find(overlay, "HorizontalPodAutoscaler", GATEWAY)
    assert hpa["apiVersion"] == "autoscaling/v2"
    spec = hpa["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": GATEWAY}
    assert 2 <= spec["minReplicas"] <= spec["maxReplicas"]
    (metric,) = spec["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}


def test_converter_command_and_metrics_port(overlay: list[Manifest]) -> None:
    deployment = find(overlay, "Deployment", CONVERTER)
    assert "replicas" not in deployment["spec"], "KEDA owns the replica count"
    converter = container(overlay, "Deployment", CONVERTER)
    assert converter["command"] == ["python", "-m", "acx_converter"]
    metrics_port = int(find(overlay, "ConfigMap", "acx-config")["data"]["WORKER_METRICS_PORT"])
    assert metrics_port == 9191
    liveness = converter["livenessProbe"]
    probe_port = (liveness.get("httpGet") or liveness["tcpSocket"])["port"]
    assert port_number(converter, probe_port) == metrics_port
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == metrics_port


def test_migration_job(overlay: list[Manifest]) -> None:
    job = find(overlay, "Job", "acx-migrate")
    assert container(overlay, "Job", "acx-migrate")["command"] == ["python", "-m", "acx.db.migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")
    assert job["spec"]["backoffLimit"] >= 1


def test_configuration_is_valid_for_the_services(overlay: list[Manifest]) -> None:
    config = find(overlay, "ConfigMap", "acx-config")["data"]
    secret = find(overlay, "Secret", "acx-secrets")["stringData"]
    assert set(secret) == SECRET_ENV_NAMES
    assert not set(config) & SECRET_ENV_NAMES, "secrets belong in the Secret"
    known = set(CONFIG_ENV_NAMES) | EXTRA_ENV_NAMES
    assert set(config) <= known, f"unknown settings: {sorted(set(config) - known)}"
    assert all(isinstance(value, str) for value in [*config.values(), *secret.values()])
    # The services would accept this configuration (placeholders included: they are syntactically valid).
    settings = load_settings({**config, **secret})
    assert settings.log_format == "json"
    assert int(config["WEB_WORKERS"]) >= 1
    # Placeholders are unmistakable.
    assert all("REPLACE-ME" in secret[name] for name in ("DATABASE_URL", "ROOT_API_BEARER_TOKEN", "SECRET_PEPPER"))


# ---- Grafana dashboard ------------------------------------------------------------------------------------


def _dashboard_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _dashboard_panels(panel.get("panels", []))


def _metric_names(expr: str) -> set[str]:
    names = set()
    for name in re.findall(r"\bacx_[a-z0-9_]+", expr):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        names.add(base if base in HISTOGRAMS else name)
    return names


def test_dashboard_queries_use_only_real_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "acx-dashboard.json").read_text())
    assert dashboard["uid"]
    assert dashboard["title"]
    panels = list(_dashboard_panels(dashboard["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert any(v["type"] == "datasource" for v in dashboard["templating"]["list"])
    used: set[str] = set()
    exprs = [t["expr"] for p in panels if p["type"] != "row" for t in p["targets"]]
    assert exprs
    for expr in exprs:
        names = _metric_names(expr)
        assert names, f"query uses no acx metric: {expr}"
        assert names <= METRICS, f"unknown metric(s) {sorted(names - METRICS)} in: {expr}"
        for name in names & HISTOGRAMS:
            assert f"{name}_bucket" in expr, f"histogram {name} must be queried through _bucket: {expr}"
        for opening, closing in ("()", "{}", "[]"):
            assert expr.count(opening) == expr.count(closing), f"unbalanced {opening}{closing}: {expr}"
        used |= names
    assert used == METRICS, f"metrics missing from the dashboard: {sorted(METRICS - used)}"
    cache = next(t["expr"] for p in panels for t in p.get("targets", []) if "cache_lookups" in t["expr"])
    assert 'result="hit"' in cache
    assert "miss" in cache


# ---- Dockerfile -------------------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    instructions = []
    for line in logical.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_is_multistage_with_a_non_root_runtime() -> None:
    instructions = _dockerfile_instructions()
    stages: list[list[tuple[str, str]]] = []
    args: dict[str, str] = {}
    for keyword, rest in instructions:
        if keyword == "FROM":
            stages.append([])
        elif keyword == "ARG" and "=" in rest:
            name, _, default = rest.partition("=")
            args[name] = default
        if stages:
            stages[-1].append((keyword, rest))
    assert len(stages) >= 2, "expected a builder and a runtime stage"
    builder = [rest for keyword, rest in instructions if keyword == "RUN" and "uv sync" in rest]
    assert builder
    for command in builder:
        assert "--frozen" in command or "--locked" in command
        assert "--no-dev" in command
        assert "--no-group embedded" in command
    runtime = stages[-1]
    assert any(k == "COPY" and "--from=" in rest for k, rest in runtime), "runtime copies the venv from the builder"
    assert not any(k == "RUN" and "uv " in rest for k, rest in runtime), "no uv in the runtime stage"
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users, "the runtime stage must set USER"
    user = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], users[-1])
    uid = user.split(":")[0]
    assert uid.isdigit(), "numeric USER, so runAsNonRoot can be verified"
    assert int(uid) != 0
    pod_security = find(OVERLAY_MANIFESTS, "Deployment", GATEWAY)["spec"]["template"]["spec"]["securityContext"]
    assert int(uid) == pod_security["runAsUser"], "the manifests run as the image's user"
    (cmd,) = [rest for keyword, rest in runtime if keyword == "CMD"]
    assert json.loads(cmd) == ["python", "-m", "acx_gateway"], "exec-form CMD running the gateway"


def test_dockerignore_keeps_the_context_small() -> None:
    patterns = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "allow-list: exclude everything, then re-include the sources"
    included = {p.lstrip("!").rstrip("/") for p in patterns if p.startswith("!")}
    assert {"pyproject.toml", "uv.lock", "README.md", "shared", "services"} <= included
    # Everything the Dockerfile copies from the context is re-included.
    for keyword, rest in _dockerfile_instructions():
        if keyword == "COPY" and "--from=" not in rest:
            sources = shlex.split(rest)[:-1]
            assert {s.rstrip("/") for s in sources} <= included, rest
