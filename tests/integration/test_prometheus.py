"""A real Prometheus scrapes a running gateway and converter: every dashboard query returns data, every
alert rule evaluates without error over series that exist, and the absent-component alert reacts.

Debian's `prometheus` binary, on a free port with its data in a temporary folder (`make test` installs
the package when it is missing).
"""

from __future__ import annotations

import math
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import unavailable
from tests.integration._helpers import poll, store_raw
from tests.integration._processes import free_port, wait_http_ok
from tests.integration.conftest import Stack
from tests.kustomize import CONVERTER, OVERLAY_MANIFESTS, find
from tests.promql import ALERTS_FILE, AlertRule, alert_rules, dashboard_queries, exported_metrics, metric_names

pytestmark = pytest.mark.integration

# Grafana's $__rate_interval is at least four scrape intervals; scrapes here are every second.
RATE_INTERVAL = "20s"


class Prometheus:
    """A Prometheus server of our own and its HTTP API."""

    def __init__(self, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.proc = proc
        self.log = log

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path>; the `data` of a successful answer."""
        body = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10).json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's vector (or scalar, as one sample)."""
        data = self.api("query", query=expr)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result


@pytest.fixture(scope="module")
def prometheus(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if binary is None:
        unavailable("Debian's prometheus package is not installed (make test installs it)")
    home = tmp_path_factory.mktemp("prometheus")
    gateway_target = stack.base_url.removeprefix("http://")
    converter_target = f"127.0.0.1:{stack.worker.env['WORKER_METRICS_PORT']}"
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS_FILE)],
        "scrape_configs": [
            {"job_name": "acx-gateway", "static_configs": [{"targets": [gateway_target]}]},
            {"job_name": "acx-converter", "static_configs": [{"targets": [converter_target]}]},
        ],
    }
    (home / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = home / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={home / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Prometheus(f"http://127.0.0.1:{port}", proc, log)
    try:
        try:
            wait_http_ok(f"{server.url}/-/ready", timeout=90, proc=proc)
        except (RuntimeError, TimeoutError) as exc:
            pytest.fail(f"prometheus: {exc}\n{log.read_text()[-2000:]}")
        yield server
    finally:
        proc.terminate()
        proc.wait(20)


def _targets_up(prometheus: Prometheus) -> bool:
    targets = prometheus.api("targets")["activeTargets"]
    return len(targets) == 2 and all(target["health"] == "up" for target in targets)


def _traffic(http: httpx.Client, stack: Stack) -> None:
    """Stores in two formats and reads in every format, twice, with conversion jobs finishing in between."""
    for round_ in range(2):
        session_id = http.post("/session", json={}).json()["data"]["id"]
        for fmt, blob in (
            ("openai", {"role": "user", "content": f"hello {round_}"}),
            ("anthropic", {"role": "assistant", "content": [{"type": "text", "text": "hi"}]}),
        ):
            response = store_raw(http, session_id, blob, fmt)
            assert response.is_success, response.text
        time.sleep(1.5)  # let the converter precompute, so reads hit the cache
        for fmt in ("acontext", "openai", "anthropic", "gemini"):
            assert http.get(f"/session/{session_id}/messages", params={"format": fmt}).status_code == 200
        time.sleep(1.5)
    assert stack.worker.proc is not None
    assert stack.worker.proc.poll() is None


@pytest.fixture(scope="module")
def scraped(prometheus: Prometheus, stack: Stack) -> Prometheus:
    """Prometheus after both targets are up and have been scraped through some traffic."""
    assert poll(lambda: _targets_up(prometheus), timeout=60), prometheus.api("targets")
    with stack.client() as http:
        _traffic(http, stack)
    # Rules are evaluated every second: wait until each has been evaluated at least once since start.
    never = "0001-01-01T00:00:00Z"  # Go's zero time: not evaluated yet
    assert poll(lambda: all(rule["lastEvaluation"] != never for rule in _rules(prometheus)), timeout=60)
    return prometheus


def _rules(prometheus: Prometheus) -> list[dict[str, Any]]:
    return [rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]]


@pytest.mark.parametrize("expr", [pytest.param(expr, id=name) for name, expr in dashboard_queries()])
def test_every_dashboard_query_returns_data(scraped: Prometheus, expr: str) -> None:
    samples = scraped.query(expr.replace("$__rate_interval", RATE_INTERVAL))
    assert samples, f"no data for: {expr}"
    # Per-route series of a route without requests in the window are NaN (a gap in Grafana); the query
    # must still give a number for something.
    values = [float(sample["value"][1]) for sample in samples]
    assert any(math.isfinite(value) for value in values), (expr, samples)


ALERTS = [pytest.param(rule, id=rule.name) for rule in alert_rules()]


def test_prometheus_loaded_every_alert_rule(scraped: Prometheus) -> None:
    assert {rule["name"] for rule in _rules(scraped)} == {rule.name for rule in alert_rules()}


@pytest.mark.parametrize("rule", ALERTS)
def test_alert_rule_evaluates_without_error(scraped: Prometheus, rule: AlertRule) -> None:
    (evaluated,) = [r for r in _rules(scraped) if r["name"] == rule.name]
    assert evaluated["health"] == "ok", evaluated.get("lastError")
    assert not evaluated.get("lastError")
    scraped.query(rule.expr)  # an instant query of the expression itself succeeds too


@pytest.mark.parametrize("rule", ALERTS)
def test_alert_reads_series_that_exist(scraped: Prometheus, rule: AlertRule) -> None:
    """Every metric the alert reads is really scraped (under the name it is queried by)."""
    present = set(scraped.api("label/__name__/values"))
    families = exported_metrics()
    for family in metric_names(rule.expr):
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count")}.get(families[family], ("",))
        assert {family + suffix for suffix in suffixes if family + suffix in rule.expr} <= present, family


def test_a_healthy_system_raises_no_alert_of_its_traffic(scraped: Prometheus) -> None:
    """Both components are seen, and the traffic above (no 5xx, no 429) leaves its alerts inactive.

    The gauge alerts are left out: earlier tests of the session share these databases.
    """
    active = {alert["labels"]["alertname"] for alert in scraped.api("alerts")["alerts"]}
    assert not active & {"AcxConverterAbsent", "AcxGatewayAbsent", "AcxHighErrorRatio", "AcxRateLimitRejections"}


def test_keda_trigger_query_returns_the_queue_depth(scraped: Prometheus) -> None:
    trigger = find(OVERLAY_MANIFESTS, "ScaledObject", CONVERTER)["spec"]["triggers"][0]["metadata"]
    (sample,) = scraped.query(trigger["query"])
    assert float(sample["value"][1]) >= 0


def test_converter_absent_goes_pending_when_the_converter_stops(scraped: Prometheus, stack: Stack) -> None:
    stack.worker.stop()
    try:

        def pending() -> bool:
            return any(
                alert["labels"]["alertname"] == "AcxConverterAbsent" and alert["state"] == "pending"
                for alert in scraped.api("alerts")["alerts"]
            )

        assert poll(pending, timeout=30), scraped.api("alerts")
    finally:
        stack.worker.start()
