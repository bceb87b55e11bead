"""The deploy tree as Kubernetes would receive it: a small, strict kustomize and manifest helpers.

No cluster, kubectl or kustomize is needed. `render()` implements the subset of kustomize the tree uses
(resources, namespace, images, JSON 6902 patches) and refuses any other kustomization field, so an
overlay cannot silently use something the tests do not model. Used by the offline deploy tests
(tests/unit/test_deploy_*.py) and by the image tests, which run each container as the manifests say.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Final

import yaml

__all__ = [
    "BASE",
    "BASE_MANIFESTS",
    "CLUSTER_SCOPED_KINDS",
    "CONVERTER",
    "DEPLOY",
    "GATEWAY",
    "OVERLAY",
    "OVERLAY_MANIFESTS",
    "Manifest",
    "container",
    "containers",
    "find",
    "json_patch",
    "load_docs",
    "manifest_id",
    "pod_spec",
    "port_number",
    "render",
]

Manifest = dict[str, Any]

DEPLOY: Final = Path(__file__).resolve().parents[1] / "deploy"
BASE: Final = DEPLOY / "k8s" / "base"
OVERLAY: Final = DEPLOY / "k8s" / "overlays" / "example"

CLUSTER_SCOPED_KINDS: Final = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
SUPPORTED_KUSTOMIZATION_KEYS: Final = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}

GATEWAY: Final = "acx-gateway"
CONVERTER: Final = "acx-converter"

# ---- a small, strict kustomize ----------------------------------------------------------------------------


def load_docs(path: Path) -> list[Manifest]:
    """Every YAML document of `path` (each must be a mapping)."""
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for doc in docs:
        assert isinstance(doc, dict), f"{path}: every YAML document must be a mapping"
    return docs


def _pointer(path: str) -> list[str]:
    assert path.startswith("/"), f"JSON pointer must start with '/': {path!r}"
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def json_patch(doc: Manifest, operations: list[dict[str, Any]]) -> None:
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


def containers(manifest: Manifest) -> list[dict[str, Any]]:
    """Init and regular containers of a workload (none for other kinds)."""
    pod = pod_spec(manifest)
    return [*pod.get("initContainers", []), *pod.get("containers", [])] if pod else []


def _set_image(manifests: list[Manifest], image: dict[str, str]) -> None:
    replaced = 0
    for container in (c for m in manifests for c in containers(m)):
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
    kustomization = load_docs(directory / "kustomization.yaml")[0]
    unsupported = set(kustomization) - SUPPORTED_KUSTOMIZATION_KEYS
    assert not unsupported, f"{directory}: kustomization fields not modelled by this test: {sorted(unsupported)}"
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        manifests.extend(render(path) if path.is_dir() else load_docs(path))
    for patch in kustomization.get("patches", []):
        operations = yaml.safe_load(patch["patch"] if "patch" in patch else (directory / patch["path"]).read_text())
        assert isinstance(operations, list), "only JSON 6902 patches (a list of operations) are modelled"
        targets = [m for m in manifests if _matches(m, patch["target"])]
        assert targets, f"patch target {patch['target']} matches nothing"
        for manifest in targets:
            json_patch(manifest, operations)
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
    """The pod template spec of a workload, None for other kinds."""
    if manifest["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        spec: dict[str, Any] = manifest["spec"]["template"]["spec"]
        return spec
    return None


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    """The one manifest of `kind` named `name`."""
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected exactly one {kind}/{name}"
    return found[0]


def container(manifests: list[Manifest], kind: str, name: str) -> dict[str, Any]:
    """The single container of workload `kind/name`."""
    found = containers(find(manifests, kind, name))
    assert len(found) == 1, f"{kind}/{name}: expected a single container"
    return found[0]


def port_number(container_spec: dict[str, Any], port: int | str) -> int:
    """Resolve a probe or Service port (number or container port name)."""
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for p in container_spec.get("ports", []) if p.get("name") == port]
    assert named, f"container {container_spec['name']} has no port named {port!r}"
    return int(named[0])


def manifest_id(manifest: Manifest) -> str:
    """`Kind/name`, for messages and test ids."""
    return f"{manifest['kind']}/{manifest['metadata']['name']}"


# Rendered once per test session; tests that modify manifests take a deep copy.
OVERLAY_MANIFESTS: Final = render(OVERLAY)
BASE_MANIFESTS: Final = render(BASE)
