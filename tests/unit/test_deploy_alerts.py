"""Alert rules: promtool checks and unit tests, the metrics they read, and the PrometheusRule kept equal.

promtool comes from Debian's `prometheus` package (`make test` installs it when missing).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, Final

import pytest
import yaml
from tests.kustomize import BASE, BASE_MANIFESTS, DEPLOY, OVERLAY_MANIFESTS, find, load_docs
from tests.promql import ALERT_TESTS_FILE, ALERTS_FILE, AlertRule, alert_rules, exported_metrics, metric_names

RULE_FILE: Final = BASE / "prometheus-rule.yaml"
GENERATOR: Final = DEPLOY / "prometheus" / "prometheus-rule.sh"
# What issue 15 asks the rules to cover, by alert name.
REQUIRED_ALERTS: Final = {
    "AcxHighErrorRatio",  # 5xx ratio
    "AcxHighLatency",  # p99 latency
    "AcxRenderQueueBacklog",  # conversion backlog: queue depth
    "AcxRenderLagging",  # conversion backlog: oldest pending age
    "AcxConverterAbsent",
    "AcxDatabasePoolSaturated",
    "AcxRateLimitRejections",
}


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: `make test` installs Debian's prometheus package", pytrace=False)
    return subprocess.run([promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_promtool_checks_the_rule_file() -> None:
    done = _promtool("check", "rules", ALERTS_FILE.name, cwd=ALERTS_FILE.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in done.stdout


def test_promtool_unit_tests_pass() -> None:
    done = _promtool("test", "rules", ALERT_TESTS_FILE.name, cwd=ALERT_TESTS_FILE.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_unit_tests_can_fail(tmp_path: Path) -> None:
    """The same tests against rules with one threshold changed must fail: they check what fires."""
    rules = ALERTS_FILE.read_text()
    assert rules.count("> 1000") == 1
    (tmp_path / ALERTS_FILE.name).write_text(rules.replace("> 1000", "> 10000"))
    shutil.copy(ALERT_TESTS_FILE, tmp_path)
    done = _promtool("test", "rules", ALERT_TESTS_FILE.name, cwd=tmp_path)
    assert done.returncode != 0
    assert "AcxRenderQueueBacklog" in done.stdout + done.stderr


ALERTS: Final = [pytest.param(rule, id=rule.name) for rule in alert_rules()]


def test_the_required_alerts_exist() -> None:
    names = [rule.name for rule in alert_rules()]
    assert len(names) == len(set(names))
    assert set(names) >= REQUIRED_ALERTS


@pytest.mark.parametrize("rule", ALERTS)
def test_alert_has_severity_texts_and_a_duration(rule: AlertRule) -> None:
    assert rule.labels.get("severity") in ("critical", "warning")
    assert {"summary", "description"} <= set(rule.annotations)
    assert rule.duration != "0s", "a `for:` keeps one bad scrape from paging"


@pytest.mark.parametrize("rule", ALERTS)
def test_alert_reads_only_metrics_the_code_exports(rule: AlertRule) -> None:
    families = exported_metrics()
    names = metric_names(rule.expr)
    assert names
    assert names <= set(families), f"unknown metric(s) {sorted(names - set(families))}"
    for name in names:
        if families[name] == "counter":
            assert f"{name}_total" in rule.expr, f"counter {name} is exported as {name}_total"
        if families[name] == "histogram":
            assert f"{name}_bucket" in rule.expr or f"{name}_count" in rule.expr, name


def _unit_tests() -> list[dict[str, Any]]:
    tests: list[dict[str, Any]] = yaml.safe_load(ALERT_TESTS_FILE.read_text())["tests"]
    return tests


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in _unit_tests():
        for check in case.get("alert_rule_test", []):
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {rule.name for rule in alert_rules()}
    assert firing == names, f"no firing case for {sorted(names - firing)}"
    assert quiet == names, f"no quiet case for {sorted(names - quiet)}"


def test_prometheus_rule_is_generated_from_the_rule_file() -> None:
    generated = subprocess.run(["bash", str(GENERATOR)], capture_output=True, text=True, check=True, timeout=30)
    assert RULE_FILE.read_text() == generated.stdout, "deploy/k8s/base/prometheus-rule.yaml is stale: run `make alerts`"
    (rule,) = load_docs(RULE_FILE)
    assert rule["spec"]["groups"] == yaml.safe_load(ALERTS_FILE.read_text())["groups"]


@pytest.mark.parametrize("manifests", [BASE_MANIFESTS, OVERLAY_MANIFESTS], ids=["base", "overlay"])
def test_prometheus_rule_structure(manifests: list[dict[str, Any]]) -> None:
    rule = find(manifests, "PrometheusRule", "acx")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(rule) == {"apiVersion", "kind", "metadata", "spec"}
    assert set(rule["spec"]) == {"groups"}
    assert rule["metadata"]["labels"]["app.kubernetes.io/part-of"] == "acx"
    for group in rule["spec"]["groups"]:
        assert set(group) <= {"name", "interval", "rules"}
        for item in group["rules"]:
            assert set(item) <= {"alert", "record", "expr", "for", "labels", "annotations"}
            assert all(isinstance(value, str) for value in item.get("labels", {}).values())
