"""The kustomize tree renders as intended and every object is valid for Kubernetes.

Every rendered object is validated against the real Kubernetes OpenAPI schemas shipped by
`kubernetes-validate` (strict: unknown fields fail); CRDs it does not know (the KEDA ScaledObject,
the PrometheusRule) are checked structurally instead.
"""

from __future__ import annotations

import copy
import re
from typing import Final

import kubernetes_validate
import pytest
from tests.kustomize import (
    BASE,
    BASE_MANIFESTS,
    CONVERTER,
    GATEWAY,
    OVERLAY_MANIFESTS,
    Manifest,
    container,
    containers,
    find,
    json_patch,
    load_docs,
    manifest_id,
)

# The oldest Kubernetes release the manifests target, and the newest schema set the package ships.
K8S_VERSIONS: Final = ("1.30.0", kubernetes_validate.latest_version())

# CRDs kubernetes-validate has no schema for; each one has a structural test.
CRDS: Final = {("keda.sh/v1alpha1", "ScaledObject"), ("monitoring.coreos.com/v1", "PrometheusRule")}


@pytest.fixture
def overlay() -> list[Manifest]:
    return copy.deepcopy(OVERLAY_MANIFESTS)


@pytest.fixture
def base() -> list[Manifest]:
    return copy.deepcopy(BASE_MANIFESTS)


# ---- rendering --------------------------------------------------------------------------------------------


def test_base_lists_every_manifest_file() -> None:
    kustomization = load_docs(BASE / "kustomization.yaml")[0]
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
            "PrometheusRule/acx",
        ]
    )
    assert {m["metadata"].get("namespace") for m in overlay} == {"acx"}
    images = {c["image"] for m in overlay for c in containers(m)}
    assert images == {"registry.example.com/acx/acx:0.1.0"}


def test_overlay_patches_took_effect(overlay: list[Manifest]) -> None:
    assert find(overlay, "ConfigMap", "acx-config")["data"]["EXTERNAL_URL"].startswith("https://")
    hpa = find(overlay, "HorizontalPodAutoscaler", GATEWAY)["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 12)
    assert find(overlay, "ScaledObject", CONVERTER)["spec"]["maxReplicaCount"] == 10
    assert container(overlay, "Deployment", GATEWAY)["resources"]["limits"]["memory"] == "1Gi"


def test_json_patch_rejects_a_missing_path() -> None:
    with pytest.raises(AssertionError, match="missing path"):
        json_patch({"spec": {}}, [{"op": "replace", "path": "/spec/replicas", "value": 2}])


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
