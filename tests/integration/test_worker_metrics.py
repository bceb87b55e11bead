"""The converter's own metrics port: conversion job outcomes and the queue depth (a worker process)."""

from __future__ import annotations

import httpx

from tests.http._helpers import samples, total
from tests.integration._helpers import poll
from tests.integration.conftest import Stack


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _done(url: str) -> float:
    return total(samples(httpx.get(url, timeout=10)), "acx_render_jobs_total", outcome="done")


def test_worker_metrics(stack: Stack, http: httpx.Client) -> None:
    """The converter's port exposes conversion job outcomes and the queue depth."""
    url = f"http://127.0.0.1:{stack.worker.env['WORKER_METRICS_PORT']}/metrics"
    assert poll(lambda: _answers(url), timeout=30), "worker metrics port never answered"
    before = _done(url)
    session_id = http.post("/session", json={}).json()["data"]["id"]
    for i in range(3):
        response = http.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": f"w{i}"}})
        assert response.is_success
    assert poll(lambda: _done(url) >= before + 3, timeout=30)
    scraped = samples(httpx.get(url, timeout=10))
    assert "acx_queue_depth" in scraped
    assert scraped["acx_queue_depth"][0][1] >= 0
    assert "acx_render_duration_seconds_count" in scraped
