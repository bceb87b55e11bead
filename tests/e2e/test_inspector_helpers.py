"""The inspector's URL and DOM guards, run in Chromium by importing its own modules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import BrowserPage, Gateway

pytestmark = pytest.mark.integration

PNG_B64 = "iVBORw0KGgo="


def call(ui: BrowserPage, module: str, expression: str) -> Any:
    """Evaluate `expression` with the inspector module `module` imported as `m`."""
    return ui.page.evaluate(f"async () => {{ const m = await import('/ui/{module}'); return {expression}; }}")


@pytest.fixture
def blank(ui: BrowserPage, gateway: Gateway) -> BrowserPage:
    ui.page.goto(gateway.ui_url)
    return ui


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost:1/api/v1/material/abc-DEF_1", "/api/v1/material/abc-DEF_1"),
        ("https://elsewhere.example/api/v1/material/tok", "/api/v1/material/tok"),
        ("/api/v1/material/tok", "/api/v1/material/tok"),
        ("javascript:alert(1)//api/v1/material/x", None),
        ("data:image/png;base64,AAAA", None),
        ("http://h/api/v1/material/a/../../session", None),
        ("http://h/api/v1/session/x", None),
        ('http://h/api/v1/material/tok?x=1"><script>', "/api/v1/material/tok"),
    ],
)
def test_material_links_are_made_same_origin_or_refused(blank: BrowserPage, url: str, expected: str | None) -> None:
    assert call(blank, "dom.js", f"m.sameOriginMaterial({url!r})") == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"data:image/png;base64,{PNG_B64}", f"data:image/png;base64,{PNG_B64}"),
        ("data:image/svg+xml;base64,PHN2Zz4=", None),
        ("data:text/html;base64,PHNjcmlwdD4=", None),
        ("data:image/png;base64,<script>", None),
        ("https://example.com/a.png", None),
    ],
)
def test_only_raster_data_urls_are_shown_inline(blank: BrowserPage, url: str, expected: str | None) -> None:
    assert call(blank, "dom.js", f"m.inlineImageUrl({url!r})") == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a.png", "https://example.com/a.png"),
        ("http://example.com/", "http://example.com/"),
        ("javascript:alert(1)", None),
        ("vbscript:x", None),
        ("data:text/html,x", None),
        ("not a url", None),
    ],
)
def test_plain_links_are_http_only(blank: BrowserPage, url: str, expected: str | None) -> None:
    assert call(blank, "dom.js", f"m.httpUrl({url!r})") == expected


@pytest.mark.parametrize("name", ["onclick", "onerror", "innerHTML", "outerHTML", "style", "srcdoc"])
def test_elements_refuse_handler_and_markup_properties(blank: BrowserPage, name: str) -> None:
    outcome = call(
        blank,
        "dom.js",
        f"(() => {{ try {{ m.h('div', {{ {name}: 'x' }}); return 'set'; }} catch (e) {{ return 'refused'; }} }})()",
    )
    assert outcome == "refused"


def test_text_children_stay_text(blank: BrowserPage) -> None:
    html = call(
        blank, "dom.js", "m.h('div', { title: '\"><b>' }, '<b>bold</b>', m.h('span', { text: '<i>x</i>' })).outerHTML"
    )
    assert html == '<div title="&quot;&gt;&lt;b&gt;">&lt;b&gt;bold&lt;/b&gt;<span>&lt;i&gt;x&lt;/i&gt;</span></div>'


def test_compose_builds_acontext_parts(blank: BrowserPage) -> None:
    files = "[new File(['x'], 'a.png', { type: 'image/png' }), new File(['y'], 'b.pdf')]"
    values = (
        f"{{ role: 'assistant', text: 'hi', files: {files}, toolName: ' lookup ', toolCallId: 'c1',"
        " toolArgs: '{\"q\": 1}', resultFor: '', resultText: '', meta: '{\"k\": 2}' }"
    )
    expression = f"(() => {{ const r = m.buildMessage({values}); return [r.payload, r.files.map(f => f[0])]; }})()"
    payload, fields = call(blank, "compose.js", expression)
    assert fields == ["file0", "file1"]
    assert payload == {
        "format": "acontext",
        "blob": {
            "role": "assistant",
            "parts": [
                {"type": "text", "text": "hi"},
                {"type": "image", "file_field": "file0"},
                {"type": "file", "file_field": "file1"},
                {"type": "tool-call", "meta": {"name": "lookup", "arguments": '{"q": 1}', "id": "c1"}},
            ],
        },
        "meta": {"k": 2},
    }
