"""Per-session operations through the published `acontext` SDK (0.1.22): token counts, copy and
message meta.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import acontext
import httpx
import psycopg
import pytest
from acontext.errors import APIError
from acontext.event import TextEvent

from tests.integration._helpers import (
    FORMATS,
    assert_api_error,
    assert_error_response,
    sdk_client,
)
from tests.integration._session_conversations import Conv, get_messages, mixed_conversation, text_tokens
from tests.integration.conftest import Stack, unique_user

pytestmark = pytest.mark.integration


# --------------------------------------------------------------------------------------------
# Token counts
# --------------------------------------------------------------------------------------------


def test_token_counts_match_section_9(client: acontext.AcontextClient) -> None:
    """get_token_counts is the sum of per-message §9 counts; this_time_tokens matches on every page."""
    conv = mixed_conversation(client)
    total = client.sessions.get_token_counts(conv.session_id).total_tokens
    assert total == conv.total()
    seen = 0
    cursor = None
    while True:
        page = client.sessions.get_messages(conv.session_id, limit=2, cursor=cursor)
        unique_ids = list(dict.fromkeys(page.ids))
        assert page.this_time_tokens == conv.total(unique_ids)
        seen += page.this_time_tokens
        if not page.has_more:
            break
        cursor = page.next_cursor
    assert seen == total
    empty = client.sessions.create().id
    assert client.sessions.get_token_counts(empty).total_tokens == 0
    assert client.sessions.get_messages(empty).this_time_tokens == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_this_time_tokens_are_the_same_in_every_format(client: acontext.AcontextClient, fmt: str) -> None:
    """A whole-session read counts the stored messages' §9 tokens, whatever the output format."""
    conv = mixed_conversation(client)
    assert get_messages(client, conv.session_id, None, format=fmt).this_time_tokens == conv.total()


def test_token_counts_missing_or_foreign_session(unreachable: tuple[acontext.AcontextClient, str]) -> None:
    """token_counts of a missing or another project's session is 404."""
    sdk, sid = unreachable
    with pytest.raises(APIError) as exc:
        sdk.sessions.get_token_counts(sid)
    assert_api_error(exc.value, 404)


# --------------------------------------------------------------------------------------------
# Copy
# --------------------------------------------------------------------------------------------


def _strip_ids(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("id", "session_id", "parent_id")}


@dataclass
class Copied:
    """A session of 23 messages (three source formats) and an event, snapshotted, then copied."""

    conv: Conv
    before: dict[str, Any]  # format -> the source's page before the copy
    new_id: str


@pytest.fixture(scope="module")
def copied(stack: Stack) -> Iterator[Copied]:
    """One copy for the module's copy tests: they only read it (building it per case costs 25 stores)."""
    with sdk_client(stack.api_url, stack.root_key) as client:
        conv = Conv.new(client, user=unique_user(), configs={"agent": "bot", "n": 1})
        for i in range(7):
            conv.user(f"question {i}", meta={"i": i})
            conv.calls((f"call_{i}", "tool", json.dumps({"i": i})))
            conv.result(f"call_{i}", f"answer {i}")
        anthropic_blob: dict[str, Any] = {"role": "user", "content": [{"type": "text", "text": "anthropic"}]}
        client.sessions.store_message(conv.session_id, blob=anthropic_blob, format="anthropic")  # type: ignore[arg-type]
        gemini_blob: dict[str, Any] = {"role": "model", "parts": [{"text": "gem"}]}
        client.sessions.store_message(conv.session_id, blob=gemini_blob, format="gemini")  # type: ignore[arg-type]
        client.sessions.add_event(conv.session_id, TextEvent(text="copied event"))
        assert client.sessions.flush(conv.session_id).status == 0  # settle conversion states before the snapshot
        before = {fmt: client.sessions.get_messages(conv.session_id, format=fmt) for fmt in FORMATS}  # type: ignore[arg-type]
        assert len(before["acontext"].ids) == 23
        result = client.sessions.copy(conv.session_id)
        assert result.old_session_id == conv.session_id
        assert result.new_session_id != conv.session_id
        yield Copied(conv, before, result.new_session_id)


def test_copy_keeps_the_session_settings_and_events(client: acontext.AcontextClient, copied: Copied) -> None:
    """copy: same user, configs and tracking; the events come along."""
    source, new = client.sessions.get_configs(copied.conv.session_id), client.sessions.get_configs(copied.new_id)
    assert new.user_id == source.user_id is not None
    assert new.configs == {"agent": "bot", "n": 1}
    assert new.disable_task_tracking == source.disable_task_tracking
    assert [e.data for e in client.sessions.get_events(copied.new_id).items] == [{"text": "copied event"}]


@pytest.mark.parametrize("fmt", FORMATS)
def test_copy_reads_like_the_source(client: acontext.AcontextClient, copied: Copied, fmt: str) -> None:
    """copy: 23 messages in the same order with new ids and identical items, in every format."""
    copy_page = client.sessions.get_messages(copied.new_id, format=fmt)  # type: ignore[arg-type]
    source_page = copied.before[fmt]
    source_ids = copied.before["acontext"].ids
    assert len(copy_page.ids) == len(source_page.ids)
    assert not set(copy_page.ids) & set(source_ids), "copied messages must get new ids"
    assert copy_page.metas == source_page.metas
    assert (
        copy_page.this_time_tokens
        == source_page.this_time_tokens
        == copied.conv.total() + text_tokens("anthropic") + text_tokens("gem")
    )
    if fmt == "acontext":
        assert [_strip_ids(i) for i in copy_page.items] == [_strip_ids(i) for i in source_page.items]
        assert all(i["session_id"] == copied.new_id for i in copy_page.items)
        parents = [i["parent_id"] for i in copy_page.items]
        assert parents == [None, *copy_page.ids[:-1]], "parent chain must be remapped"
    else:
        assert copy_page.items == source_page.items


def test_copy_is_independent_of_the_source(client: acontext.AcontextClient, copied: Copied) -> None:
    """A store into a (second) copy leaves the source unchanged."""
    source_id = copied.conv.session_id
    new_id = client.sessions.copy(source_id).new_session_id
    client.sessions.store_message(new_id, blob={"role": "user", "content": "only in the copy"})
    after = client.sessions.get_messages(source_id, format="acontext")
    assert after.ids == copied.before["acontext"].ids
    assert after.items == copied.before["acontext"].items
    copy_now = client.sessions.get_messages(new_id, format="openai")
    assert copy_now.items[-1] == {"role": "user", "content": "only in the copy"}


def test_copy_of_a_missing_or_foreign_session(unreachable: tuple[acontext.AcontextClient, str]) -> None:
    """Copying a missing session, or another project's, is 404."""
    sdk, sid = unreachable
    with pytest.raises(APIError) as exc:
        sdk.sessions.copy(sid)
    assert_api_error(exc.value, 404)


def test_copy_too_large(client: acontext.AcontextClient, stack: Stack) -> None:
    """A session of 5000 messages copies; 5001 is 413 SESSION_TOO_LARGE (rows inserted with SQL)."""
    session_id = client.sessions.create().id
    seed = client.sessions.store_message(session_id, blob={"role": "user", "content": "seed"}).id
    with psycopg.connect(stack.database_url, autocommit=True) as conn:

        def grow(extra: int) -> None:
            conn.execute(
                "INSERT INTO messages"
                " (id, session_id, project_id, seq, role, format, raw, parts, meta, render_state, tokens)"
                " SELECT gen_random_uuid(), m.session_id, m.project_id,"
                " (SELECT max(seq) FROM messages WHERE session_id = m.session_id) + g,"
                " m.role, m.format, m.raw, m.parts, m.meta, 'done', 2"
                " FROM messages m, generate_series(1, %s) g WHERE m.id = %s",
                (extra, seed),
            )
            conn.execute(
                "UPDATE sessions SET message_count = (SELECT count(*) FROM messages WHERE session_id = sessions.id)"
                " WHERE public_id = %s",
                (session_id,),
            )

        grow(4999)
        copied = client.sessions.copy(session_id).new_session_id
        row = conn.execute(
            "SELECT count(*) FROM messages WHERE session_id = (SELECT id FROM sessions WHERE public_id = %s)",
            (copied,),
        ).fetchone()
        assert row is not None
        assert row[0] == 5000
        grow(1)
        with pytest.raises(APIError) as exc:
            client.sessions.copy(session_id)
        assert_api_error(exc.value, 413)
        assert "SESSION_TOO_LARGE" in json.dumps(exc.value.payload)
    client.sessions.delete(copied)
    client.sessions.delete(session_id)


# --------------------------------------------------------------------------------------------
# Message meta
# --------------------------------------------------------------------------------------------


def _patched(client: acontext.AcontextClient) -> tuple[Conv, list[str], dict[str, Any]]:
    """Two messages whose meta was patched: (conversation, ids, the first one's merged meta)."""
    conv = Conv.new(client)
    first = conv.user("one", meta={"keep": 1, "drop": "x", "nested": {"a": 1}})
    second = conv.assistant("two")
    merged = client.sessions.patch_message_meta(
        conv.session_id, first, meta={"drop": None, "nested": {"b": 2}, "new": [1, 2]}
    )
    assert client.sessions.patch_message_meta(conv.session_id, second, meta={"tag": "t"}) == {"tag": "t"}
    assert client.sessions.patch_message_meta(conv.session_id, second, meta={"absent": None}) == {"tag": "t"}
    return conv, [first, second], merged


def test_patch_message_meta(client: acontext.AcontextClient) -> None:
    """Shallow merge, null deletes, the whole meta returned; system meta untouched."""
    conv, _, merged = _patched(client)
    assert merged == {"keep": 1, "nested": {"b": 2}, "new": [1, 2]}
    acx = client.sessions.get_messages(conv.session_id, format="acontext")
    assert [item["meta"] for item in acx.items] == [merged, {"tag": "t"}]
    assert acx.items[0]["system_meta"]["source_format"] == "openai"  # system meta untouched


@pytest.mark.parametrize("fmt", FORMATS)
def test_patched_meta_reads_back_in_every_format(client: acontext.AcontextClient, fmt: str) -> None:
    """The patched metas are the page's metas in every format."""
    conv, _, merged = _patched(client)
    page = client.sessions.get_messages(conv.session_id, format=fmt)  # type: ignore[arg-type]
    assert page.metas == [merged, {"tag": "t"}]


@pytest.mark.parametrize(
    "target",
    ["unknown-message", "message-of-another-session", "unknown-session", "other-project"],
)
def test_patch_message_meta_of_an_unreachable_message(
    client: acontext.AcontextClient, other: acontext.AcontextClient, target: str
) -> None:
    """A message that is not in the session (or a session that is not the caller's) is 404; nothing changes."""
    conv = Conv.new(client)
    mid = conv.user("one", meta={"keep": 1})
    sdk, sid, message = {
        "unknown-message": (client, conv.session_id, str(uuid.uuid4())),
        "message-of-another-session": (client, client.sessions.create().id, mid),
        "unknown-session": (client, str(uuid.uuid4()), mid),
        "other-project": (other, conv.session_id, mid),
    }[target]
    with pytest.raises(APIError) as exc:
        sdk.sessions.patch_message_meta(sid, message, meta={"x": 1})
    assert_api_error(exc.value, 404)
    assert client.sessions.get_messages(conv.session_id).metas == [{"keep": 1}]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-meta"),
        pytest.param({"meta": None}, id="null"),
        pytest.param({"meta": [1]}, id="list"),
        pytest.param({"meta": "s"}, id="string"),
    ],
)
def test_patch_message_meta_must_be_an_object(
    client: acontext.AcontextClient, http: httpx.Client, body: dict[str, Any]
) -> None:
    """meta must be an object (400); nothing changes."""
    conv = Conv.new(client)
    mid = conv.user("x")
    assert_error_response(http.patch(f"/session/{conv.session_id}/messages/{mid}/meta", json=body), 400)
    assert client.sessions.get_messages(conv.session_id).metas == [{}]


def test_patch_message_meta_bad_message_id(http: httpx.Client, session_id: str) -> None:
    """A message id that is not a UUID is 400."""
    assert_error_response(http.patch(f"/session/{session_id}/messages/nope/meta", json={"meta": {}}), 400)
