"""Fixtures of the image tests: the built image (ACX_IMAGE, set by `make image-test`), its filesystem, and
the migration Job, gateway and converter of the manifests running from it against the test databases.

Without ACX_IMAGE the tests are skipped (`make test` does not build images; `make image-test` does).
"""

from __future__ import annotations

import copy
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from acx.apikeys import TOKEN_PREFIX
from tests.e2e.image._pod import (
    ImageConfig,
    MountedImage,
    PodContainer,
    container_of,
    inspect_image,
    mounted_image,
    start_container,
)
from tests.e2e.image._proxy import tcp_database_url
from tests.integration._processes import free_port, wait_http_ok
from tests.kustomize import CONVERTER, GATEWAY, OVERLAY_MANIFESTS, Manifest, find

IMAGE = os.environ.get("ACX_IMAGE", "").strip()
needs_image = pytest.mark.skipif(not IMAGE, reason="needs a built image: run `make image-test`")
MIGRATE_JOB = "acx-migrate"


@dataclass
class Running:
    """A container process started from the image."""

    spec: PodContainer
    proc: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        """Everything it printed so far."""
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float) -> int:
        """SIGTERM, as the kubelet sends it; the exit code (SIGKILL after `timeout`, as the kubelet does)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


@dataclass
class Pods:
    """Turns the manifests' workloads into containers that run here: real secrets, host ports."""

    manifests: list[Manifest]
    config: ImageConfig
    secrets: dict[str, str]
    # containerPort -> host port it is served on here (the network namespace is the host's)
    ports: dict[int, int]

    def config_value(self, key: str) -> str:
        """A value of the manifests' ConfigMap."""
        value: str = find(self.manifests, "ConfigMap", "acx-config")["data"][key]
        return value

    @property
    def overrides(self) -> dict[str, str]:
        """The only variables that differ from the manifests': where to listen."""
        return {
            "HOST": "127.0.0.1",
            "PORT": str(self.ports[int(self.config_value("PORT"))]),
            "WORKER_METRICS_PORT": str(self.ports[int(self.config_value("WORKER_METRICS_PORT"))]),
        }

    def spec(self, kind: str, name: str) -> PodContainer:
        """The container of `kind/name` as it runs here."""
        return container_of(self.manifests, kind, name, self.config, self.secrets, self.overrides)


@dataclass
class Deployment:
    """The manifests' workloads running from the image."""

    image: MountedImage
    pods: Pods
    database_url: str
    root_key: str
    scratch: Path
    migrations: list[subprocess.CompletedProcess[bytes]]
    gateway: Running
    converter: Running

    @property
    def base_url(self) -> str:
        """The gateway's address."""
        return f"http://127.0.0.1:{self.pods.overrides['PORT']}"

    @property
    def converter_metrics_url(self) -> str:
        """The converter's metrics endpoint."""
        return f"http://127.0.0.1:{self.pods.overrides['WORKER_METRICS_PORT']}/metrics"


def run_job(
    image: MountedImage, spec: PodContainer, scratch: Path, timeout: float = 180
) -> subprocess.CompletedProcess[bytes]:
    """Run a container to completion (a Job's pod); its output is returned."""
    run = scratch / f"{spec.name}-{time.monotonic_ns()}"
    run.mkdir()
    log = run / "output.log"
    proc = start_container(image, spec, run, log)
    try:
        proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(spec.argv, proc.returncode, log.read_bytes(), b"")


def _wait_ready(running: Running, url: str, timeout: float = 120) -> None:
    try:
        wait_http_ok(url, timeout, running.proc)
    except (RuntimeError, TimeoutError) as exc:
        pytest.fail(f"{running.spec.name}: {exc}:\n{running.log_text()[-3000:]}")


def _start(image: MountedImage, spec: PodContainer, scratch: Path) -> Running:
    log = scratch / f"{spec.name}.log"
    return Running(spec, start_container(image, spec, scratch, log), log)


@pytest.fixture(scope="session")
def image_config() -> ImageConfig:
    """The built image's configuration."""
    assert IMAGE
    assert os.geteuid() == 0, "the image tests mount the image's filesystem: run them as root"
    return inspect_image(IMAGE)


@pytest.fixture(scope="session")
def image_fs() -> Iterator[MountedImage]:
    """The image's root filesystem (a created, never started container)."""
    assert IMAGE
    with mounted_image(IMAGE) as mounted:
        yield mounted


@pytest.fixture(scope="session")
def container_database_url(database_url: str) -> Iterator[str]:
    """The test database as the containers reach it: over TCP, as in a cluster."""
    with tcp_database_url(database_url) as url:
        yield url


@pytest.fixture(scope="session")
def deployment(
    image_fs: MountedImage,
    image_config: ImageConfig,
    database_url: str,
    container_database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployment]:
    """Migration Job run twice, then gateway and converter started, all from the image."""
    scratch = tmp_path_factory.mktemp("pods")
    manifests = copy.deepcopy(OVERLAY_MANIFESTS)
    config = find(manifests, "ConfigMap", "acx-config")["data"]
    root_token = secrets.token_urlsafe(24)
    root_key = f"{TOKEN_PREFIX}{root_token}"  # what clients send for ROOT_API_BEARER_TOKEN
    real_secrets = {
        "DATABASE_URL": container_database_url,
        "REDIS_URL": redis_url,
        "ROOT_API_BEARER_TOKEN": root_token,
        "SECRET_PEPPER": secrets.token_hex(32),
    }
    ports = {int(config["PORT"]): free_port(), int(config["WORKER_METRICS_PORT"]): free_port()}
    pods = Pods(manifests, image_config, real_secrets, ports)
    # Twice: the Job may run again on every rollout, so it must be idempotent.
    migrations = [run_job(image_fs, pods.spec("Job", MIGRATE_JOB), scratch) for _ in range(2)]
    for done in migrations:
        assert done.returncode == 0, done.stdout.decode(errors="replace")[-3000:]
    started = [
        _start(image_fs, spec, scratch)
        for spec in (pods.spec("Deployment", GATEWAY), pods.spec("Deployment", CONVERTER))
    ]
    deployment = Deployment(image_fs, pods, database_url, root_key, scratch, migrations, *started)
    try:
        _wait_ready(deployment.gateway, f"{deployment.base_url}/healthz")
        _wait_ready(deployment.converter, deployment.converter_metrics_url)
        yield deployment
    finally:
        for running in started:
            if running.proc.poll() is None:
                running.proc.kill()
                running.proc.wait()
