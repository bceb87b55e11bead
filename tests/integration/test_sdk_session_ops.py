"""Per-session operations through the published `acontext` SDK (0.1.22): token counts, copy and
message meta.
"""

from __future__ import annotations

import json
import uuid
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
    for fmt in FORMATS:
        assert get_messages(client, conv.session_id, None, format=fmt).this_time_tokens == total, fmt
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


def test_token_counts_missing_or_foreign_session(
    client: acontext.AcontextClient, other: acontext.AcontextClient, session_id: str
) -> None:
    """token_counts of a missing or another project's session is 404."""
    for sdk, sid in ((client, str(uuid.uuid4())), (other, session_id)):
        with pytest.raises(APIError) as exc:
            sdk.sessions.get_token_counts(sid)
        assert_api_error(exc.value, 404)


# --------------------------------------------------------------------------------------------
# Copy
# --------------------------------------------------------------------------------------------


def _strip_ids(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("id", "session_id", "parent_id")}


def test_copy_session(client: acontext.AcontextClient, other: acontext.AcontextClient) -> None:
    """copy: 23 messages in the same order with new ids, same user/configs, identical items everywhere."""
    user = unique_user()
    conv = Conv.new(client, user=user, configs={"agent": "bot", "n": 1})
    for i in range(7):
        conv.user(f"question {i}", meta={"i": i})
        conv.calls((f"call_{i}", "tool", json.dumps({"i": i})))
        conv.result(f"call_{i}", f"answer {i}")
    client.sessions.store_message(
        conv.session_id, blob={"role": "user", "content": [{"type": "text", "text": "anthropic"}]}, format="anthropic"
    )
    gemini_blob: dict[str, Any] = {"role": "model", "parts": [{"text": "gem"}]}
    client.sessions.store_message(conv.session_id, blob=gemini_blob, format="gemini")  # type: ignore[arg-type]
    client.sessions.add_event(conv.session_id, TextEvent(text="copied event"))
    assert client.sessions.flush(conv.session_id).status == 0  # settle conversion states before the snapshot
    before = {fmt: client.sessions.get_messages(conv.session_id, format=fmt) for fmt in FORMATS}  # type: ignore[arg-type]
    source_ids = before["acontext"].ids
    assert len(source_ids) == 23

    result = client.sessions.copy(conv.session_id)
    assert result.old_session_id == conv.session_id
    assert result.new_session_id != conv.session_id
    new_id = result.new_session_id

    src_session, new_session = client.sessions.get_configs(conv.session_id), client.sessions.get_configs(new_id)
    assert new_session.user_id == src_session.user_id is not None
    assert new_session.configs == {"agent": "bot", "n": 1}
    assert new_session.disable_task_tracking == src_session.disable_task_tracking

    for fmt in FORMATS:
        copy_page = client.sessions.get_messages(new_id, format=fmt)  # type: ignore[arg-type]
        source_page = before[fmt]
        assert len(copy_page.ids) == len(source_page.ids)
        assert not set(copy_page.ids) & set(source_ids), "copied messages must get new ids"
        assert copy_page.metas == source_page.metas
        assert (
            copy_page.this_time_tokens
            == source_page.this_time_tokens
            == conv.total() + text_tokens("anthropic") + text_tokens("gem")
        )
        if fmt == "acontext":
            assert [_strip_ids(i) for i in copy_page.items] == [_strip_ids(i) for i in source_page.items]
            assert all(i["session_id"] == new_id for i in copy_page.items)
            parents = [i["parent_id"] for i in copy_page.items]
            assert parents == [None, *copy_page.ids[:-1]], "parent chain must be remapped"
        else:
            assert copy_page.items == source_page.items, fmt
    assert [e.data for e in client.sessions.get_events(new_id).items] == [{"text": "copied event"}]

    # the source is unchanged, and the copy is independent
    client.sessions.store_message(new_id, blob={"role": "user", "content": "only in the copy"})
    after = client.sessions.get_messages(conv.session_id, format="acontext")
    assert after.ids == source_ids
    assert after.items == before["acontext"].items
    copy_now = client.sessions.get_messages(new_id, format="openai")
    assert copy_now.items[-1] == {"role": "user", "content": "only in the copy"}

    for sdk, sid in ((other, conv.session_id), (client, str(uuid.uuid4()))):
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


def test_patch_message_meta(client: acontext.AcontextClient, other: acontext.AcontextClient) -> None:
    """Shallow merge, null deletes, the whole meta returned and reflected in metas; 404s otherwise."""
    conv = Conv.new(client)
    first = conv.user("one", meta={"keep": 1, "drop": "x", "nested": {"a": 1}})
    second = conv.assistant("two")
    merged = client.sessions.patch_message_meta(
        conv.session_id, first, meta={"drop": None, "nested": {"b": 2}, "new": [1, 2]}
    )
    assert merged == {"keep": 1, "nested": {"b": 2}, "new": [1, 2]}
    assert client.sessions.patch_message_meta(conv.session_id, second, meta={"tag": "t"}) == {"tag": "t"}
    assert client.sessions.patch_message_meta(conv.session_id, second, meta={"absent": None}) == {"tag": "t"}
    for fmt in FORMATS:
        page = client.sessions.get_messages(conv.session_id, format=fmt)  # type: ignore[arg-type]
        assert page.metas == [merged, {"tag": "t"}], fmt
    acx = client.sessions.get_messages(conv.session_id, format="acontext")
    assert [item["meta"] for item in acx.items] == [merged, {"tag": "t"}]
    assert acx.items[0]["system_meta"]["source_format"] == "openai"  # system meta untouched

    attempts = [
        (client, conv.session_id, str(uuid.uuid4())),  # unknown message
        (client, client.sessions.create().id, first),  # message of another session
        (client, str(uuid.uuid4()), first),  # unknown session
        (other, conv.session_id, first),  # another project
    ]
    for sdk, sid, mid in attempts:
        with pytest.raises(APIError) as exc:
            sdk.sessions.patch_message_meta(sid, mid, meta={"x": 1})
        assert_api_error(exc.value, 404)
    assert client.sessions.get_messages(conv.session_id).metas == [merged, {"tag": "t"}]


def test_patch_message_meta_validation(client: acontext.AcontextClient, http: httpx.Client) -> None:
    """meta must be an object; bad ids are 400."""
    conv = Conv.new(client)
    mid = conv.user("x")
    path = f"/session/{conv.session_id}/messages/{mid}/meta"
    for body in ({}, {"meta": None}, {"meta": [1]}, {"meta": "s"}):
        assert_error_response(http.patch(path, json=body), 400)
    assert_error_response(http.patch(f"/session/{conv.session_id}/messages/nope/meta", json={"meta": {}}), 400)
    assert client.sessions.get_messages(conv.session_id).metas == [{}]
