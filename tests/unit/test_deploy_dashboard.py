"""The Grafana dashboard queries only metrics acx exports, and every one of them."""

from __future__ import annotations

from tests.promql import dashboard, dashboard_exprs, dashboard_panels, exported_metrics, metric_names


def test_dashboard_queries_use_only_real_metrics() -> None:
    model = dashboard()
    assert model["uid"]
    assert model["title"]
    panels = list(dashboard_panels())
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert any(v["type"] == "datasource" for v in model["templating"]["list"])
    families = exported_metrics()
    histograms = {name for name, kind in families.items() if kind == "histogram"}
    used: set[str] = set()
    exprs = dashboard_exprs()
    assert exprs
    for expr in exprs:
        names = metric_names(expr)
        assert names, f"query uses no acx metric: {expr}"
        assert names <= set(families), f"unknown metric(s) {sorted(names - set(families))} in: {expr}"
        for name in names & histograms:
            assert f"{name}_bucket" in expr, f"histogram {name} must be queried through _bucket: {expr}"
        for name in names:
            if families[name] == "counter":
                assert f"{name}_total" in expr, f"counter {name} is exported as {name}_total: {expr}"
        for opening, closing in ("()", "{}", "[]"):
            assert expr.count(opening) == expr.count(closing), f"unbalanced {opening}{closing}: {expr}"
        used |= names
    assert used == set(families), f"metrics missing from the dashboard: {sorted(set(families) - used)}"
    cache = next(expr for expr in exprs if "cache_lookups" in expr)
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
