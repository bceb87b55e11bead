"""Run a container of the Kubernetes manifests from a built image's filesystem, as a kubelet would.

`podman run` does not work inside the sandboxes this project is built in (crun cannot set rlimits or
create cgroups), so this does the container runtime's part by hand: `podman create` + `podman mount`
give the image's root filesystem; each container runs in a private mount namespace (`unshare -m`) with
that root bind-mounted read-only (readOnlyRootFilesystem), a tmpfs for each emptyDir volume, /proc and
/dev, then `unshare --root --wd --setuid --setgid` enters it as the pod's runAsUser/runAsGroup with the
image's working directory and exactly the environment the manifests compose. The network namespace
stays the host's, so the caller maps each containerPort to a free port (and HOST to loopback).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tests.kustomize import Manifest, find, pod_spec

__all__ = [
    "ImageConfig",
    "PodContainer",
    "container_of",
    "inspect_image",
    "mounted_image",
    "process_ids",
    "resolve_in_root",
    "start_container",
]

_SIZE_UNITS = {"": 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "k": 1000, "M": 1000**2, "G": 1000**3}


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an image's configuration a container runtime uses."""

    user: str
    env: dict[str, str]
    entrypoint: list[str]
    cmd: list[str]
    workdir: str
    exposed_ports: set[int]


def inspect_image(image: str) -> ImageConfig:
    """`podman image inspect` of `image`."""
    out = subprocess.run(["podman", "image", "inspect", image], check=True, capture_output=True, text=True).stdout
    config: dict[str, Any] = json.loads(out)[0]["Config"]
    return ImageConfig(
        user=config.get("User", ""),
        env=dict(item.split("=", 1) for item in config.get("Env", [])),
        entrypoint=config.get("Entrypoint") or [],
        cmd=config.get("Cmd") or [],
        workdir=config.get("WorkingDir") or "/",
        exposed_ports={int(port.split("/")[0]) for port in config.get("ExposedPorts", {})},
    )


@dataclass
class MountedImage:
    """A created (never started) container of the image, with its root filesystem mounted."""

    container_id: str
    root: Path

    def changes(self) -> set[str]:
        """Paths added, changed or deleted in the container's writable layer (`podman diff`)."""
        out = subprocess.run(
            ["podman", "diff", "--format", "json", self.container_id], check=True, capture_output=True, text=True
        ).stdout
        report: dict[str, list[str] | None] = json.loads(out or "{}")
        return {path for paths in report.values() for path in paths or []}


@contextmanager
def mounted_image(image: str) -> Iterator[MountedImage]:
    """`podman create` + `podman mount`; unmounted and removed afterwards."""
    container_id = subprocess.run(
        ["podman", "create", image], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        root = subprocess.run(
            ["podman", "mount", container_id], check=True, capture_output=True, text=True
        ).stdout.strip()
        yield MountedImage(container_id, Path(root))
    finally:
        subprocess.run(["podman", "umount", container_id], check=False, capture_output=True)
        subprocess.run(["podman", "rm", "--force", container_id], check=False, capture_output=True)


def resolve_in_root(root: Path, path: str) -> PurePosixPath:
    """`path` inside the image with its symlinks resolved against `root`, never escaping it.

    An image's absolute symlinks (Debian's /var/run -> /run) point into the image; following them on
    the host would mount over the host's own directories.
    """
    resolved = PurePosixPath("/")
    parts = list(PurePosixPath(path).parts[1:])
    for _ in range(64):
        if not parts:
            return resolved
        part = parts.pop(0)
        if part == "..":
            resolved = resolved.parent
            continue
        candidate = resolved / part
        host = root / candidate.relative_to("/")
        if host.is_symlink():
            target = PurePosixPath(os.readlink(host))
            parts = list(target.parts[1:] if target.is_absolute() else target.parts) + parts
            resolved = PurePosixPath("/") if target.is_absolute() else resolved
        else:
            resolved = candidate
    raise RuntimeError(f"too many symlinks resolving {path}")


@dataclass
class PodContainer:
    """One container of a workload, as it would run: argv, environment, identity, volumes."""

    name: str
    argv: list[str]
    env: dict[str, str]
    uid: int
    gid: int
    workdir: str
    # mountPath -> tmpfs size in bytes (None: no limit given)
    volumes: dict[str, int | None] = field(default_factory=dict)


def _bytes(quantity: str) -> int:
    match = re.fullmatch(r"(\d+)([KMG]i?|)", quantity)
    assert match, f"unsupported size {quantity!r}"
    return int(match.group(1)) * _SIZE_UNITS[match.group(2)]


def container_of(
    manifests: list[Manifest],
    kind: str,
    name: str,
    image: ImageConfig,
    secrets: dict[str, str],
    overrides: dict[str, str],
) -> PodContainer:
    """What the kubelet would run for the single container of `kind/name`.

    `secrets` replaces the Secret's placeholder values (same keys); `overrides` are the few variables
    that must differ because the pod's network namespace is the host's here (ports, listen address).
    """
    pod = pod_spec(find(manifests, kind, name))
    assert pod is not None, f"{kind}/{name} is not a workload"
    (spec,) = pod["containers"]
    env = dict(image.env)
    for source in spec.get("envFrom", []):
        if "configMapRef" in source:
            env.update(find(manifests, "ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            placeholders = find(manifests, "Secret", source["secretRef"]["name"])["stringData"]
            assert set(secrets) == set(placeholders), "real secret values for exactly the Secret's keys"
            env.update(secrets)
    env.update({item["name"]: item["value"] for item in spec.get("env", [])})
    env.update(overrides)
    security = {**pod.get("securityContext", {}), **spec.get("securityContext", {})}
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    mounts: dict[str, int | None] = {}
    for mount in spec.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        assert "emptyDir" in volume, f"{name}: only emptyDir volumes are modelled, not {volume}"
        limit = volume["emptyDir"].get("sizeLimit")
        mounts[mount["mountPath"]] = _bytes(limit) if limit else None
    if "command" in spec:
        argv = [*spec["command"], *spec.get("args", [])]
    else:
        argv = [*image.entrypoint, *(spec.get("args") or image.cmd)]
    return PodContainer(
        name=spec["name"],
        argv=argv,
        env=env,
        uid=int(security["runAsUser"]),
        gid=int(security.get("runAsGroup", security["runAsUser"])),
        workdir=spec.get("workingDir", image.workdir),
        volumes=mounts,
    )


def start_container(image: MountedImage, spec: PodContainer, scratch: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start `spec` from the image's filesystem; the returned process IS the container's process.

    Each step execs the next (unshare, sh, unshare, the command), so a signal sent to the returned
    pid reaches the container's PID-1 program as it would in a pod.
    """
    new_root = scratch / f"root-{spec.name}"
    new_root.mkdir(parents=True)
    mount, unshare = shutil.which("mount"), shutil.which("unshare")
    assert mount, "util-linux mount is needed"
    assert unshare, "util-linux unshare is needed"
    # A kubelet creates missing mount points in the container's layer too; they are all the image
    # test allows in `podman diff`.
    mountpoints = [resolve_in_root(image.root, path) for path in ["/proc", "/dev", *spec.volumes]]
    for point in mountpoints:
        (image.root / point.relative_to("/")).mkdir(parents=True, exist_ok=True)
    target = shlex.quote(str(new_root))
    steps = [
        f"{mount} --bind {shlex.quote(str(image.root))} {target}",
        f"{mount} -o remount,bind,ro {target}",
        f"{mount} -t proc proc {target}/proc",
        f"{mount} --rbind /dev {target}/dev",
        f"{mount} -t tmpfs -o mode=1777,size=64m shm {target}/dev/shm",
    ]
    for path, size in spec.volumes.items():
        target = shlex.quote(str(new_root / resolve_in_root(image.root, path).relative_to("/")))
        options = "mode=0777" + (f",size={size}" if size else "")
        steps.append(f"{mount} -t tmpfs -o {options} emptydir {target}")
    enter = [unshare, f"--root={new_root}", f"--wd={spec.workdir}", f"--setgid={spec.gid}", f"--setuid={spec.uid}"]
    steps.append("exec " + shlex.join([*enter, "--", *spec.argv]))
    script = "set -eu\n" + "\n".join(steps)
    with log.open("ab") as out:
        return subprocess.Popen(
            [unshare, "--mount", "--propagation", "private", "/bin/sh", "-c", script],
            env=spec.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def process_ids(pid: int) -> list[int]:
    """`pid` and all its descendants (e.g. granian's worker processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found
