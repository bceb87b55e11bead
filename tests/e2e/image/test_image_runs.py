"""The built image runs as the manifests say: migrations, gateway and converter against real PostgreSQL and
Redis, one round trip through the published SDK, probes, metrics, identity, SIGTERM, a read-only root.

The tests run in file order and share one deployment; the last ones stop it.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import acontext
import httpx
import psycopg
import pytest

from acx.tokens import get_encoding
from tests.e2e.image._pod import process_ids, resolve_in_root
from tests.e2e.image.conftest import Deployment, Running, needs_image
from tests.integration._helpers import poll, rendering_formats
from tests.kustomize import CONVERTER, GATEWAY, OVERLAY_MANIFESTS, container, find, port_number

pytestmark = needs_image

FORMATS = ("acontext", "openai", "anthropic", "gemini")


def _tokens(texts: list[str]) -> int:
    """o200k tokens of text-only messages (acontext-api.md §9: each text plus a newline)."""
    encoding = get_encoding()
    return sum(len(encoding.encode(text + "\n")) for text in texts)


def test_migration_job_applies_the_schema_idempotently(deployment: Deployment) -> None:
    assert [done.returncode for done in deployment.migrations] == [0, 0]
    with psycopg.connect(deployment.database_url) as conn:
        tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"sessions", "messages", "renderings"} <= tables


def test_round_trip_with_the_published_sdk(deployment: Deployment) -> None:
    """Stored as OpenAI and as Anthropic, read as Gemini, counted, and converted by the image's converter."""
    client = acontext.AcontextClient(api_key=deployment.root_key, base_url=f"{deployment.base_url}/api/v1")
    try:
        session_id = client.sessions.create().id
        question, answer = "Which port does the gateway listen on?", "The one in PORT, 8029 by default."
        stored = [
            client.sessions.store_message(session_id, blob={"role": "user", "content": question}, format="openai"),
            client.sessions.store_message(
                session_id,
                blob={"role": "assistant", "content": [{"type": "text", "text": answer}]},
                format="anthropic",
            ),
        ]
        page = client.sessions.get_messages(session_id, format="gemini")
        assert page.ids == [message.id for message in stored]
        assert [item["role"] for item in page.items] == ["user", "model"]
        assert [item["parts"][0]["text"] for item in page.items] == [question, answer]
        assert page.this_time_tokens == _tokens([question, answer])
        assert client.sessions.get_token_counts(session_id).total_tokens == _tokens([question, answer])
    finally:
        client.close()
    ids = [message.id for message in stored]
    assert poll(lambda: all(set(FORMATS) <= f for f in rendering_formats(deployment.database_url, ids).values()), 30), (
        f"the converter converted nothing:\n{deployment.converter.log_text()[-3000:]}"
    )


# (deployment, probe) of every probe the manifests declare; the deployment runs them deep-copied.
DECLARED_PROBES = [
    (name, key)
    for name in (GATEWAY, CONVERTER)
    for key in ("startupProbe", "livenessProbe", "readinessProbe")
    if key in container(OVERLAY_MANIFESTS, "Deployment", name)
]


def test_both_deployments_declare_probes() -> None:
    assert {name for name, _ in DECLARED_PROBES} == {GATEWAY, CONVERTER}


@pytest.mark.parametrize(("name", "key"), DECLARED_PROBES, ids=[f"{n}-{k}" for n, k in DECLARED_PROBES])
def test_every_probe_of_the_manifests_answers(deployment: Deployment, name: str, key: str) -> None:
    spec = container(deployment.pods.manifests, "Deployment", name)
    probe = spec[key]
    action = probe.get("httpGet") or probe["tcpSocket"]
    port = deployment.pods.ports[port_number(spec, action["port"])]
    if "httpGet" in probe:
        response = httpx.get(f"http://127.0.0.1:{port}{action['path']}", timeout=probe.get("timeoutSeconds", 1))
        assert response.status_code == 200, (action, response.text)
    else:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)  # connects, whatever the path answers


def test_readyz_checks_the_backing_services(deployment: Deployment) -> None:
    body = httpx.get(f"{deployment.base_url}/readyz", timeout=5)
    assert body.status_code == 200, body.text


def test_metrics_are_served_by_both(deployment: Deployment) -> None:
    gateway = httpx.get(f"{deployment.base_url}/metrics", timeout=5)
    assert gateway.status_code == 200
    assert re.search(r'^acx_http_requests_total\{.*status="200".*\} [1-9]', gateway.text, re.MULTILINE)
    assert re.search(r'^acx_messages_stored_total\{format="openai"\} 1\.0$', gateway.text, re.MULTILINE)
    converter = httpx.get(deployment.converter_metrics_url, timeout=5)
    assert converter.status_code == 200
    assert re.search(r'^acx_render_jobs_total\{outcome="done"\} [1-9]', converter.text, re.MULTILINE)
    # The gateway aggregates its WEB_WORKERS processes through the emptyDir the manifest mounts.
    multiproc = deployment.gateway.spec.env["PROMETHEUS_MULTIPROC_DIR"]
    assert multiproc in deployment.gateway.spec.volumes


def _running(deployment: Deployment, name: str) -> Running:
    return deployment.gateway if name == GATEWAY else deployment.converter


@pytest.mark.parametrize("name", [GATEWAY, CONVERTER])
def test_every_process_runs_as_the_declared_non_root_user(deployment: Deployment, name: str) -> None:
    pod = find(deployment.pods.manifests, "Deployment", name)["spec"]["template"]["spec"]
    expected = (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"])
    assert expected[0] != 0
    pids = process_ids(_running(deployment, name).proc.pid)
    if name == GATEWAY:
        assert len(pids) > int(deployment.pods.config_value("WEB_WORKERS")), "granian's workers are children"
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.MULTILINE)
        gids = re.search(r"^Gid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.MULTILINE)
        groups = re.search(r"^Groups:(.*)$", status, re.MULTILINE)
        assert uids, status
        assert gids, status
        assert groups, status
        assert {int(uid) for uid in uids.groups()} == {expected[0]}, (pid, status)
        assert {int(gid) for gid in gids.groups()} == {expected[1]}, (pid, status)
        assert groups.group(1).split() in ([], [str(expected[1])]), "root's supplementary groups leaked"


@pytest.mark.parametrize("name", [GATEWAY, CONVERTER])
def test_sigterm_ends_it_cleanly(deployment: Deployment, name: str) -> None:
    running = _running(deployment, name)
    grace = find(deployment.pods.manifests, "Deployment", name)["spec"]["template"]["spec"]
    code = running.stop(timeout=grace["terminationGracePeriodSeconds"])
    log = running.log_text()
    assert code == 0, f"exited with {code} on SIGTERM:\n{log[-3000:]}"
    assert "Traceback" not in log, log[-3000:]
    assert "Read-only file system" not in log, log[-3000:]


def test_nothing_was_written_outside_tmp_and_the_volumes(deployment: Deployment) -> None:
    """The root filesystem was mounted read-only; its writable layer holds only the mount points."""
    assert deployment.gateway.proc.poll() is not None, "runs after the SIGTERM test"
    root = deployment.image.root
    allowed = set()
    for path in ["/proc", "/dev", *deployment.gateway.spec.volumes, *deployment.converter.spec.volumes]:
        point = resolve_in_root(root, path)
        allowed |= {str(point), *(str(parent) for parent in point.parents)}
    changes = deployment.image.changes()
    assert changes <= allowed, sorted(changes - allowed)
    assert all(PurePosixPath(path).is_absolute() for path in changes)


@pytest.mark.parametrize("name", [GATEWAY, CONVERTER])
def test_logs_are_json_lines(deployment: Deployment, name: str) -> None:
    """LOG_FORMAT=json from the ConfigMap reaches the process: every log line is a JSON object."""
    running = deployment.gateway if name == GATEWAY else deployment.converter
    lines = [line for line in running.log_text().splitlines() if line.strip()]
    if name == GATEWAY:
        assert lines, "the gateway logs at least its start"
    assert all(line.startswith("{") and line.endswith("}") for line in lines), lines[:5]
