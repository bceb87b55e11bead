"""Workloads: hardening of every container, probes, shutdown, selectors, autoscalers, configuration."""

from __future__ import annotations

import copy
from typing import Any, Final

import pytest
from tests.kustomize import (
    CONVERTER,
    GATEWAY,
    OVERLAY_MANIFESTS,
    Manifest,
    container,
    containers,
    find,
    manifest_id,
    pod_spec,
    port_number,
)

from acx.config import Settings, load_settings

# Every setting is read from the environment variable named like its field, upper-cased.
CONFIG_ENV_NAMES: Final = {field.upper() for field in Settings.__struct_fields__}
SECRET_ENV_NAMES: Final = {"DATABASE_URL", "REDIS_URL", "ROOT_API_BEARER_TOKEN", "SECRET_PEPPER"}


@pytest.fixture
def overlay() -> list[Manifest]:
    return copy.deepcopy(OVERLAY_MANIFESTS)


# ---- hardening --------------------------------------------------------------------------------------------


WORKLOADS: Final = [m for m in OVERLAY_MANIFESTS if pod_spec(m) is not None]


def _effective(pod: dict[str, Any], container_spec: dict[str, Any], key: str) -> Any:
    return container_spec.get("securityContext", {}).get(key, pod.get("securityContext", {}).get(key))


# One case per container (init containers included) of every workload.
WORKLOAD_CONTAINERS: Final = [
    pytest.param(m, c, id=f"{manifest_id(m)}/{c['name']}") for m in WORKLOADS for c in containers(m)
]


@pytest.mark.parametrize("workload", WORKLOADS, ids=manifest_id)
def test_workload_pod_is_hardened(workload: Manifest) -> None:
    pod = pod_spec(workload)
    assert pod is not None
    assert pod.get("automountServiceAccountToken") is False
    assert containers(workload)


@pytest.mark.parametrize(("workload", "c"), WORKLOAD_CONTAINERS)
def test_container_is_hardened(workload: Manifest, c: dict[str, Any]) -> None:
    pod = pod_spec(workload)
    assert pod is not None
    config_names = {m["metadata"]["name"] for m in OVERLAY_MANIFESTS if m["kind"] == "ConfigMap"}
    secret_names = {m["metadata"]["name"] for m in OVERLAY_MANIFESTS if m["kind"] == "Secret"}
    empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    assert _effective(pod, c, "runAsNonRoot") is True
    assert _effective(pod, c, "runAsUser") not in (None, 0)
    assert _effective(pod, c, "seccompProfile") == {"type": "RuntimeDefault"}
    security = c["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security.get("privileged", False) is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "add" not in security["capabilities"]
    resources = c["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert "memory" in resources["limits"]
    # Read-only root: /tmp must be a writable emptyDir.
    assert {m["name"] for m in c["volumeMounts"] if m["mountPath"] == "/tmp"} <= empty_dirs
    assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"])
    # Configuration comes from the shared ConfigMap and Secret, which must exist.
    sources = c["envFrom"]
    assert {s["configMapRef"]["name"] for s in sources if "configMapRef" in s} <= config_names
    assert {s["secretRef"]["name"] for s in sources if "secretRef" in s} <= secret_names
    assert len(sources) == 2


@pytest.mark.parametrize(
    ("probe", "path"), [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")]
)
def test_gateway_probe_targets_the_configured_port(overlay: list[Manifest], probe: str, path: str) -> None:
    gateway = container(overlay, "Deployment", GATEWAY)
    port = int(find(overlay, "ConfigMap", "acx-config")["data"]["PORT"])
    http = gateway[probe]["httpGet"]
    assert (http["path"], port_number(gateway, http["port"])) == (path, port)


def test_gateway_shutdown_and_metrics(overlay: list[Manifest]) -> None:
    deployment = find(overlay, "Deployment", GATEWAY)
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    pod = deployment["spec"]["template"]
    gateway = container(overlay, "Deployment", GATEWAY)
    config = find(overlay, "ConfigMap", "acx-config")["data"]
    port = int(config["PORT"])
    assert config["HOST"] == "0.0.0.0"
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


def test_service_selects_the_gateway_pods(overlay: list[Manifest]) -> None:
    service = find(overlay, "Service", GATEWAY)["spec"]
    gateway_labels = find(overlay, "Deployment", GATEWAY)["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= gateway_labels.items()
    gateway = container(overlay, "Deployment", GATEWAY)
    assert port_number(gateway, service["ports"][0]["targetPort"]) == int(
        find(overlay, "ConfigMap", "acx-config")["data"]["PORT"]
    )
    # The two components must not select each other's pods.
    converter_labels = find(overlay, "Deployment", CONVERTER)["spec"]["template"]["metadata"]["labels"]
    assert not service["selector"].items() <= converter_labels.items()


@pytest.mark.parametrize("name", [GATEWAY, CONVERTER])
def test_pdb_selects_its_deployments_pods(overlay: list[Manifest], name: str) -> None:
    deployment = find(overlay, "Deployment", name)["spec"]
    selector = find(overlay, "PodDisruptionBudget", name)["spec"]["selector"]["matchLabels"]
    assert selector == deployment["selector"]["matchLabels"]
    assert selector.items() <= deployment["template"]["metadata"]["labels"].items()


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
    known = CONFIG_ENV_NAMES
    assert set(config) <= known, f"unknown settings: {sorted(set(config) - known)}"
    assert all(isinstance(value, str) for value in [*config.values(), *secret.values()])
    # The services would accept this configuration (placeholders included: they are syntactically valid).
    settings = load_settings({**config, **secret})
    assert settings.log_format == "json"
    assert int(config["WEB_WORKERS"]) >= 1
    # Placeholders are unmistakable.
    assert all("REPLACE-ME" in secret[name] for name in ("DATABASE_URL", "ROOT_API_BEARER_TOKEN", "SECRET_PEPPER"))
