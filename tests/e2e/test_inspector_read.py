"""The inspector in headless Chromium: sign-in, the sessions list, a session in every format."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.e2e._data import XSS_TEXT, four_format_session, new_session, ok, store
from tests.e2e.conftest import ROOT_KEY, BrowserPage, Gateway

pytestmark = pytest.mark.integration


def open_with_key(ui: BrowserPage, gateway: Gateway, fragment: str = "") -> None:
    ui.page.goto(f"{gateway.ui_url}#key={quote(ROOT_KEY)}{'&' + fragment if fragment else ''}")


def test_without_a_key_nothing_is_shown(ui: BrowserPage, gateway: Gateway) -> None:
    conversation = four_format_session(gateway.http)
    api_calls: list[str] = []
    ui.page.on("request", lambda request: api_calls.append(request.url) if "/api/v1/" in request.url else None)
    ui.page.goto(f"{gateway.ui_url}#session={conversation.session_id}")
    expect(ui.page.locator("#api-key")).to_be_visible()
    expect(ui.page.locator(".message")).to_have_count(0)
    expect(ui.page.locator("#sessions")).to_have_count(0)
    assert conversation.marker not in ui.page.content()
    assert api_calls == []
    # A wrong key is refused in plain words and shows nothing either.
    ui.page.fill("#api-key", "sk-ac-not-a-key")
    ui.page.click("#sign-in")
    expect(ui.page.locator("#error")).to_have_text("That API key was not accepted.")
    expect(ui.page.locator(".message")).to_have_count(0)
    # So is a wrong key given in the fragment: it is dropped, and the sign-in form comes back.
    ui.page.goto(f"{gateway.ui_url}#key=sk-ac-wrong&session={conversation.session_id}")
    expect(ui.page.locator("#error")).to_contain_text("The API key was not accepted")
    expect(ui.page.locator("#api-key")).to_be_visible()
    expect(ui.page.locator(".message")).to_have_count(0)
    assert ui.page.evaluate("sessionStorage.getItem('acx-inspector-key')") is None


def test_key_from_the_fragment_lists_sessions_newest_first(ui: BrowserPage, gateway: Gateway) -> None:
    conversation = four_format_session(gateway.http)
    open_with_key(ui, gateway)
    page = ui.page
    expect(page.locator("table.sessions")).to_be_visible()
    # The key moved to sessionStorage: it is no longer in the address bar (nor in history).
    assert "key=" not in page.url
    assert page.evaluate("sessionStorage.getItem('acx-inspector-key')") == ROOT_KEY
    newest = page.locator("table.sessions tbody tr").first
    expect(newest).to_have_attribute("data-id", conversation.session_id)
    expect(newest.locator(".count")).to_have_text("6")
    expect(newest.locator(".activity")).to_have_text("just now")
    # Filter by configs and by user.
    page.fill("#filter-configs", json.dumps({"e2e": conversation.marker}))
    page.click("form.filters button")
    expect(page.locator("table.sessions tbody tr")).to_have_count(1)
    page.fill("#filter-configs", "")
    page.fill("#filter-user", f"{conversation.marker}@example.com")
    page.click("form.filters button")
    expect(page.locator("table.sessions tbody tr")).to_have_count(1)
    page.fill("#filter-configs", "{not json")
    page.click("form.filters button")
    expect(page.locator("#error")).to_contain_text("not valid JSON")
    assert ui.console_errors == []


def test_paging_through_sessions(ui: BrowserPage, gateway: Gateway) -> None:
    marker = new_session(gateway.http)  # any unique value
    created = [new_session(gateway.http, configs={"paging": marker}) for _ in range(23)]
    open_with_key(ui, gateway)
    page = ui.page
    page.fill("#filter-configs", json.dumps({"paging": marker}))
    page.click("form.filters button")
    rows = page.locator("table.sessions tbody tr")
    expect(rows).to_have_count(20)
    first_page = [rows.nth(i).get_attribute("data-id") for i in range(20)]
    assert first_page == created[::-1][:20]
    page.click("#next-page")
    expect(rows).to_have_count(3)
    assert [rows.nth(i).get_attribute("data-id") for i in range(3)] == created[::-1][20:]
    expect(page.locator("#next-page")).to_be_disabled()
    page.click("#prev-page")
    expect(rows).to_have_count(20)


def test_session_view_in_every_format(ui: BrowserPage, gateway: Gateway) -> None:
    conversation = four_format_session(gateway.http)
    sid = conversation.session_id
    open_with_key(ui, gateway, f"session={sid}")
    page = ui.page
    cards = page.locator("article.message")
    expect(cards).to_have_count(6)
    assert [cards.nth(i).get_attribute("data-id") for i in range(6)] == conversation.message_ids
    assert page.locator("#messages").evaluate("el => [...el.childNodes].every(node => node.nodeType === 1)")
    expect(cards.nth(0).locator(".role")).to_have_text("system")
    expect(cards.nth(0).locator(".badge.source")).to_have_text("openai")
    expect(cards.nth(1).locator(".badge.source")).to_have_text("anthropic")
    expect(cards.nth(4).locator(".badge.source")).to_have_text("gemini")
    expect(cards.nth(2).locator(".tool-call")).to_contain_text("get_weather")
    expect(cards.nth(3).locator(".tool-result")).to_contain_text("22 degrees, sunny")
    # Per-message token counts add up to the session total the API reports.
    total = ok(gateway.http.get(f"/session/{sid}/token_counts"))["total_tokens"]
    expect(page.locator("#total-tokens")).to_have_text(str(total))
    counts = [int(cards.nth(i).locator(".tokens").inner_text().split()[0]) for i in range(6)]
    assert sum(counts) == total
    assert all(count > 0 for count in counts)
    # The uploaded image is previewed through its material link (same origin).
    image = cards.nth(5).locator("img.preview")
    expect(image).to_be_visible()
    assert (image.get_attribute("src") or "").startswith("/api/v1/material/")
    page.wait_for_function("document.querySelector('img.preview').naturalWidth === 24")
    # Stored markup is text: it shows literally and never runs.
    expect(cards.nth(1).locator(".part.text")).to_contain_text(XSS_TEXT)
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src='x']").count() == 0
    # Each provider format shows what that provider receives for each message.
    page.check("input[name=format][value=anthropic]")
    expect(cards.nth(2).locator("pre")).to_contain_text('"type": "tool_use"')
    page.check("input[name=format][value=gemini]")
    expect(cards.nth(2).locator("pre")).to_contain_text('"functionCall"')
    expect(cards.nth(4).locator("pre")).to_contain_text('"role": "model"')
    page.check("input[name=format][value=openai]")
    expect(cards.nth(0).locator("pre")).to_contain_text('"role": "system"')
    expect(cards.nth(3).locator("pre")).to_contain_text('"tool_call_id": "call_1"')
    # The request-level view, copied to the clipboard.
    page.check("input[name=format][value=anthropic]")
    page.check("input[name=mode][value=request]")
    expect(page.locator("#request-json")).to_contain_text('"system"')
    view = ok(gateway.http.get(f"/session/{sid}/render", params={"format": "anthropic"}))
    assert json.loads(page.locator("#request-json").inner_text()) == view["payload"]
    page.click("#copy-request")
    expect(page.locator("#status")).to_have_text("Request copied to the clipboard.")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == view["payload"]
    # Configs and events alongside.
    expect(page.locator("#configs")).to_contain_text(conversation.marker)
    expect(page.locator("#events")).to_contain_text(conversation.marker)
    assert ui.console_errors == []


def test_edit_strategy_preview_marks_what_would_be_dropped(ui: BrowserPage, gateway: Gateway) -> None:
    conversation = four_format_session(gateway.http)
    sid = conversation.session_id
    open_with_key(ui, gateway, f"session={sid}")
    page = ui.page
    expect(page.locator("article.message")).to_have_count(6)
    strategies = [{"type": "token_limit", "params": {"limit_tokens": 20}}]
    expected = ok(
        gateway.http.get(
            f"/session/{sid}/messages", params={"format": "acontext", "edit_strategies": json.dumps(strategies)}
        )
    )
    dropped = [mid for mid in conversation.message_ids if mid not in expected["ids"]]
    assert 0 < len(dropped) < 6
    page.click("details.panel > summary")
    page.select_option("#strategy-type", "token_limit")
    page.fill("#strategy-n", "20")
    expect(page.locator("#strategy-json")).to_have_value(json.dumps(strategies, separators=(",", ":")))
    page.click("#preview")
    summary = page.locator(".preview-summary")
    expect(summary).to_contain_text(f"{len(dropped)} dropped")
    expect(summary).to_contain_text(f"{expected['this_time_tokens']} tokens")
    marked = page.locator("article.message.is-dropped")
    expect(marked).to_have_count(len(dropped))
    assert [marked.nth(i).get_attribute("data-id") for i in range(len(dropped))] == dropped
    # remove_tool_result with N=0 edits the tool result in place.
    page.select_option("#strategy-type", "remove_tool_result")
    page.fill("#strategy-n", "0")
    page.click("#preview")
    edited = page.locator(f"article[data-id='{conversation.message_ids[3]}']")
    expect(edited.locator(".badge.edited")).to_be_visible()
    expect(edited.locator(".tool-result pre")).to_have_text("Done")
    page.click("#clear-preview")
    expect(page.locator(".badge.edited")).to_have_count(0)
    # The API's refusal of a bad strategy is shown in words.
    page.fill("#strategy-json", '[{"type": "no_such_strategy"}]')
    page.click("#preview")
    expect(page.locator("#error")).to_contain_text("no_such_strategy")


def test_unknown_session_is_reported_in_plain_words(ui: BrowserPage, gateway: Gateway) -> None:
    open_with_key(ui, gateway, "session=00000000-0000-4000-8000-000000000000")
    expect(ui.page.locator("#error")).to_have_text("Not found: session not found.")


def test_keyboard_and_narrow_window(ui: BrowserPage, gateway: Gateway) -> None:
    conversation = four_format_session(gateway.http)
    store(gateway.http, conversation.session_id, "openai", {"role": "user", "content": "x" * 3000})
    page = ui.page
    page.set_viewport_size({"width": 380, "height": 800})
    open_with_key(ui, gateway)
    expect(page.locator("table.sessions")).to_be_visible()
    link = page.locator(f"a[href='#session={conversation.session_id}']")
    for _ in range(40):  # Tab through the page to the session's link, then open it with Enter
        page.keyboard.press("Tab")
        if link.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("the session link is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.locator("article.message")).to_have_count(7)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # Format switch by keyboard: arrow keys move within the radio group.
    page.focus("input[name=format][value=acontext]")
    page.keyboard.press("ArrowRight")
    expect(page.locator("input[name=format][value=openai]")).to_be_checked()
    expect(page.locator("article.message").first.locator("pre")).to_contain_text('"role": "system"')


def test_a_long_session_shows_the_newest_and_pages_back(ui: BrowserPage, gateway: Gateway) -> None:
    sid = new_session(gateway.http)
    texts = [f"message number {i}" for i in range(165)]
    for text in texts:
        store(gateway.http, sid, "openai", {"role": "user", "content": text})
    open_with_key(ui, gateway, f"session={sid}")
    page = ui.page
    cards = page.locator("article.message")
    expect(cards).to_have_count(150)
    expect(cards.first).to_contain_text("message number 15")
    expect(cards.first.locator(".index")).to_have_text("#16")
    page.check("input[name=format][value=gemini]")
    expect(cards.first.locator("pre")).to_contain_text("message number 15")
    page.click("#load-older")
    expect(cards).to_have_count(165)
    expect(page.locator("#load-older")).to_have_count(0)
    expect(cards.first.locator(".index")).to_have_text("#1")
    expect(cards.first.locator("pre")).to_contain_text("message number 0")
    expect(cards.last.locator("pre")).to_contain_text("message number 164")
    # Messages keep arriving at the end, in the chosen format.
    for i in range(3):
        store(gateway.http, sid, "anthropic", {"role": "assistant", "content": f"late {i}"})
    expect(cards).to_have_count(168)
    expect(cards.last.locator("pre")).to_contain_text("late 2")
    assert ui.console_errors == []
