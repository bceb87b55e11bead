"""The inspector in headless Chromium: sending messages, downloading, live updates, headers."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e._data import four_format_session, new_session, ok, png_bytes, store
from tests.e2e.conftest import ROOT_KEY, BrowserPage, Gateway

pytestmark = pytest.mark.integration


def open_session(ui: BrowserPage, gateway: Gateway, session_id: str) -> None:
    ui.page.goto(f"{gateway.ui_url}#key={quote(ROOT_KEY)}&session={session_id}")


def test_send_a_message_with_a_file(ui: BrowserPage, gateway: Gateway, tmp_path: Path) -> None:
    sid = new_session(gateway.http)
    open_session(ui, gateway, sid)
    page = ui.page
    expect(page.locator(".messages .empty")).to_be_visible()
    picture = tmp_path / "plot.png"
    picture.write_bytes(png_bytes())
    page.fill("#compose-text", "Here is the plot.")
    page.set_input_files("#compose-files", str(picture))
    page.fill("#compose-meta", '{"via": "inspector"}')
    page.click("#compose-send")
    cards = page.locator("article.message")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Here is the plot.")
    expect(cards.first.locator("img.preview")).to_be_visible()
    stored = ok(gateway.http.get(f"/session/{sid}/messages", params={"format": "acontext"}))
    [message] = stored["items"]
    assert message["meta"] == {"via": "inspector"}
    assert [part["type"] for part in message["parts"]] == ["text", "image"]
    assert message["parts"][1]["filename"] == "plot.png"
    assert message["parts"][1]["asset"]["size_b"] == len(png_bytes())
    # A tool call from the assistant, then its result.
    page.select_option("#compose-role", "assistant")
    page.fill("#compose-tool-name", "lookup")
    page.fill("#compose-tool-id", "call_9")
    page.fill("#compose-tool-args", '{"q": "plot"}')
    page.click("#compose-send")
    expect(cards).to_have_count(2)
    page.fill("#compose-result-for", "call_9")
    page.fill("#compose-result-text", "found it")
    page.click("#compose-send")
    expect(cards).to_have_count(3)
    page.check("input[name=format][value=openai]")
    expect(cards.nth(1).locator("pre")).to_contain_text('"name": "lookup"')
    expect(cards.nth(2).locator("pre")).to_contain_text('"role": "tool"')
    # Invalid input is explained, nothing is sent.
    page.fill("#compose-tool-name", "broken")
    page.fill("#compose-tool-args", "{oops")
    page.click("#compose-send")
    expect(page.locator("#error")).to_have_text("Tool-call arguments: not valid JSON (write an object).")
    expect(cards).to_have_count(3)
    assert ui.console_errors == []


def test_download_in_the_chosen_format(ui: BrowserPage, gateway: Gateway) -> None:
    conversation = four_format_session(gateway.http)
    sid = conversation.session_id
    open_session(ui, gateway, sid)
    page = ui.page
    expect(page.locator("article.message")).to_have_count(6)
    page.check("input[name=format][value=gemini]")
    expect(page.locator("article.message").nth(4).locator("pre")).to_contain_text('"role": "model"')
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename == f"session-{sid}-gemini.json"
    saved = json.loads(Path(download.path()).read_text())
    expected = ok(gateway.http.get(f"/session/{sid}/messages", params={"format": "gemini"}))
    assert saved == {
        "session_id": sid,
        "format": "gemini",
        "items": expected["items"],
        "ids": expected["ids"],
        "metas": expected["metas"],
    }
    assert ui.console_errors == []


def test_a_message_stored_by_another_client_appears(ui: BrowserPage, gateway: Gateway) -> None:
    sid = new_session(gateway.http)
    store(gateway.http, sid, "openai", {"role": "user", "content": "first"})
    open_session(ui, gateway, sid)
    page = ui.page
    cards = page.locator("article.message")
    expect(cards).to_have_count(1)
    page.check("input[name=format][value=anthropic]")
    expect(cards.first.locator("pre")).to_contain_text('"content": "first"')
    # An agent writes while the inspector is open; polling picks it up in the chosen format.
    store(gateway.http, sid, "gemini", {"role": "model", "parts": [{"text": "second, from an agent"}]})
    store(gateway.http, sid, "anthropic", {"role": "user", "content": "third"})
    expect(cards).to_have_count(3)
    expect(cards.nth(1).locator("pre")).to_contain_text("second, from an agent")
    expect(cards.nth(1).locator("pre")).to_contain_text('"role": "assistant"')
    expect(page.locator("#message-count")).to_have_text("3")
    ok(gateway.http.post(f"/session/{sid}/events", json={"type": "progress", "data": {"step": 2}}))
    expect(page.locator("#events")).to_contain_text("progress")
    assert ui.console_errors == []


@pytest.mark.parametrize("path", ["/ui/", "/ui/app.js", "/ui/style.css"])
def test_static_files_carry_a_strict_policy(gateway: Gateway, path: str) -> None:
    response = httpx.get(gateway.base_url + path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


def test_static_files_are_no_api(gateway: Gateway) -> None:
    assert httpx.get(gateway.base_url + "/ui/missing.js").status_code == 404
    schema = httpx.get(gateway.base_url + "/openapi.json").json()
    assert not [path for path in schema["paths"] if path.startswith("/ui")]
