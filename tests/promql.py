"""What the deploy tree asks Prometheus: dashboard queries, alert rules, and the metrics acx exports.

Shared by the offline checks (tests/unit/test_deploy_dashboard.py, test_deploy_alerts.py) and by the
integration test that evaluates every query and rule in a real Prometheus.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import yaml
from prometheus_client.metrics import MetricWrapperBase

from acx import metrics
from tests.kustomize import DEPLOY

__all__ = [
    "ALERTS_FILE",
    "ALERT_TESTS_FILE",
    "DASHBOARD_FILE",
    "AlertRule",
    "alert_rules",
    "dashboard",
    "dashboard_exprs",
    "dashboard_panels",
    "dashboard_queries",
    "exported_metrics",
    "metric_names",
]

DASHBOARD_FILE: Final = DEPLOY / "grafana" / "acx-dashboard.json"
ALERTS_FILE: Final = DEPLOY / "prometheus" / "alerts.yaml"
ALERT_TESTS_FILE: Final = DEPLOY / "prometheus" / "alerts.test.yaml"


def exported_metrics() -> dict[str, str]:
    """Family name -> type ("counter", "gauge", "histogram") of every metric in `acx.metrics`."""
    families: dict[str, str] = {}
    for attribute in metrics.__all__:
        metric = getattr(metrics, attribute)
        if isinstance(metric, MetricWrapperBase):
            for family in metric.describe():
                families[family.name] = family.type
    return families


def metric_names(expr: str) -> set[str]:
    """The acx metric families a PromQL expression reads (`_total`, `_bucket`... mapped to the family)."""
    families = exported_metrics()
    names = set()
    for name in re.findall(r"\bacx_[a-z0-9_]+", expr):
        family = re.sub(r"_(total|bucket|sum|count)$", "", name)
        names.add(family if family in families else name)
    return names


def dashboard() -> dict[str, Any]:
    """The Grafana dashboard model."""
    model: dict[str, Any] = json.loads(DASHBOARD_FILE.read_text())
    return model


def dashboard_panels(panels: list[dict[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
    """Every panel, rows' nested panels included."""
    for panel in dashboard()["panels"] if panels is None else panels:
        yield panel
        yield from dashboard_panels(panel.get("panels", []))


def dashboard_exprs() -> list[str]:
    """The PromQL of every dashboard target."""
    return [t["expr"] for p in dashboard_panels() if p["type"] != "row" for t in p["targets"]]


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title/refId, PromQL) of every dashboard target: readable test ids for `dashboard_exprs`."""
    return [
        (f"{p['title']}/{t['refId']}", t["expr"])
        for p in dashboard_panels()
        if p["type"] != "row"
        for t in p["targets"]
    ]


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule of deploy/prometheus/alerts.yaml."""

    group: str
    name: str
    expr: str
    duration: str
    labels: dict[str, str]
    annotations: dict[str, str]


def alert_rules() -> list[AlertRule]:
    """Every alerting rule of the plain rule file, in file order."""
    document = yaml.safe_load(ALERTS_FILE.read_text())
    return [
        AlertRule(
            group=group["name"],
            name=rule["alert"],
            expr=rule["expr"],
            duration=rule.get("for", "0s"),
            labels=rule.get("labels", {}),
            annotations=rule.get("annotations", {}),
        )
        for group in document["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
