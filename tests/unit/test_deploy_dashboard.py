"""The Grafana dashboard queries only metrics acx exports, and every one of them."""

from __future__ import annotations

from typing import Final

import pytest
from tests.promql import dashboard, dashboard_exprs, dashboard_panels, dashboard_queries, exported_metrics, metric_names

QUERIES: Final = [pytest.param(expr, id=name) for name, expr in dashboard_queries()]


def test_dashboard_model() -> None:
    model = dashboard()
    assert model["uid"]
    assert model["title"]
    ids = [p["id"] for p in dashboard_panels()]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert any(v["type"] == "datasource" for v in model["templating"]["list"])
    assert len(QUERIES) == len(dashboard_exprs()) > 0


@pytest.mark.parametrize("expr", QUERIES)
def test_dashboard_query_reads_real_metrics(expr: str) -> None:
    families = exported_metrics()
    names = metric_names(expr)
    assert names, f"query uses no acx metric: {expr}"
    assert names <= set(families), f"unknown metric(s) {sorted(names - set(families))} in: {expr}"
    for name in names:
        if families[name] == "histogram":
            assert f"{name}_bucket" in expr, f"histogram {name} must be queried through _bucket: {expr}"
        if families[name] == "counter":
            assert f"{name}_total" in expr, f"counter {name} is exported as {name}_total: {expr}"
    for opening, closing in ("()", "{}", "[]"):
        assert expr.count(opening) == expr.count(closing), f"unbalanced {opening}{closing}: {expr}"


def test_dashboard_shows_every_metric() -> None:
    used = {name for expr in dashboard_exprs() for name in metric_names(expr)}
    families = exported_metrics()
    assert used == set(families), f"metrics missing from the dashboard: {sorted(set(families) - used)}"


def test_cache_panel_shows_hits_and_misses() -> None:
    cache = next(expr for expr in dashboard_exprs() if "cache_lookups" in expr)
    assert 'result="hit"' in cache
    assert "miss" in cache


def test_metric_families_come_from_the_code() -> None:
    families = exported_metrics()
    assert families["acx_http_requests"] == "counter"
    assert families["acx_http_request_duration_seconds"] == "histogram"
    assert families["acx_queue_depth"] == "gauge"
    assert metric_names("rate(acx_http_requests_total[1m]) + acx_unknown_thing") == {
        "acx_http_requests",
        "acx_unknown_thing",
    }
