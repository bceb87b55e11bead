"""Storing messages: a batch of many sessions' messages in one statement and one commit.

Two ways to write a batch; in both, a session's messages take consecutive sequence numbers in
request order, and the caller never writes one session from two batches at once (the gateway's
batcher guarantees it within a process; across processes the row lock and the head check do):

* `write_known`, the fast path: the caller knows each session's head (next sequence number, last
  message, ingest state) from its previous write, so blobs are decoded before the database is
  touched and the batch is ONE autocommit statement. It locks the sessions it can (`SKIP LOCKED`),
  advances those whose head is still the one the decode assumed, and inserts their messages.
  Sessions locked elsewhere, moved on by another process, or gone are left out, nothing written.
* `write_locked`, the general path: one transaction locks the sessions (waiting at most
  `lock_timeout`), reads their heads, claims idempotency keys, decodes, writes with the same
  statement, records idempotent responses and asset references, and commits. Requests decoded in
  another process (`StoreRequest.offload`) are large and only ever take this path.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from acx.assets import Upload
from acx.db.assets import add_references
from acx.db.idempotency import StoredResponse, claim, record
from acx.db.message_copy import LargeMessageRow, copy_messages
from acx.db.pool import Conn
from acx.errors import AcxError, ConflictError, SessionNotFound
from acx.ingested import IngestResult
from acx.model import Message

__all__ = [
    "IdempotentWrite",
    "Outcome",
    "Replayed",
    "SessionHead",
    "StorePlan",
    "StoreRequest",
    "StoredMessage",
    "Written",
    "decoded_elsewhere",
    "plan_stores",
    "write_known",
    "write_locked",
]


class StoredMessage(NamedTuple):
    """The row a store created, with the message as decoded (and stored); no message when it was
    decoded in another process (`StoreRequest.offload`)."""

    id: uuid.UUID
    session_id: uuid.UUID
    parent_id: uuid.UUID | None
    task_status: str
    created_at: datetime
    updated_at: datetime
    message: Message | None
    #: Response body recorded under the request's Idempotency-Key (idempotent stores only).
    recorded: bytes | None = None


class Replayed(NamedTuple):
    """The Idempotency-Key was used before by the same request: its recorded response."""

    response: StoredResponse


class IdempotentWrite(NamedTuple):
    """An `Idempotency-Key` store: its key, request fingerprint and the response to record."""

    key: str
    fingerprint: str
    respond: Callable[[StoredMessage], bytes]


class StoreRequest(NamedTuple):
    """One message to store. `ingest` decodes the blob against the session's ingest state and
    raises `DecodeError` to reject it (nothing is written for that request then).

    A large blob may instead be decoded in another process: `offload` is then awaited in place of
    `ingest` (which is `decoded_elsewhere`), and `raw` is the blob's UTF-8 bytes, sent as they are.
    """

    project_id: uuid.UUID
    session_id: uuid.UUID
    fmt: str
    raw: str | memoryview
    meta_json: str
    ingest: Callable[[str], IngestResult]
    uploads: tuple[Upload, ...] = ()
    #: Id of the HTTP request, carried into the conversion job's logs.
    request_id: str | None = None
    idempotency: IdempotentWrite | None = None
    offload: Callable[[str], Awaitable[IngestResult]] | None = None

    @property
    def needs_transaction(self) -> bool:
        """Whether it writes more than its message (asset references, an idempotency record)."""
        return bool(self.uploads) or self.idempotency is not None

    @property
    def is_large(self) -> bool:
        """A blob of megabytes: decoded off the event loop, on the general path (`write_locked`)."""
        return self.offload is not None or len(self.raw) > _THREAD_ABOVE_CHARS


def decoded_elsewhere(state_json: str) -> IngestResult:
    """The `ingest` of a request decoded by its `offload`: never called, such requests being
    large (`write_locked` plans them, awaiting `offload`)."""
    raise RuntimeError("a request decoded in another process was planned synchronously")


Outcome = StoredMessage | Replayed | AcxError


class SessionHead(NamedTuple):
    """What a store into a session depends on: its owner, next sequence number, last message and
    ingest state (JSON), and whether task tracking is off."""

    project_id: uuid.UUID
    seq: int
    last_id: uuid.UUID | None
    state: str
    disable_tracking: bool


class Written(NamedTuple):
    """A batch's outcome per session (request order) and the heads of the sessions written to.

    `write_known` leaves out of both the sessions it did not write (retry them with `write_locked`).
    """

    outcomes: dict[uuid.UUID, list[Outcome]]
    heads: dict[uuid.UUID, SessionHead]


class _Draft(NamedTuple):
    request: StoreRequest
    id: uuid.UUID
    seq: int
    parent_id: uuid.UUID | None
    at: datetime
    ingested: IngestResult


class StorePlan(NamedTuple):
    """A session's decoded requests: per request a draft to insert or its outcome already, and
    the head before and after them."""

    before: SessionHead
    after: SessionHead
    steps: list[_Draft | Outcome]


_Plan = StorePlan


def plan_stores(head: SessionHead, requests: Iterable[StoreRequest | Outcome]) -> StorePlan:
    """Decode requests in order against `head` (pure: nothing is written)."""
    steps: list[_Draft | Outcome] = []
    current = head
    for request in requests:
        if not isinstance(request, StoreRequest):
            steps.append(request)  # decided before decoding (an idempotency replay or conflict)
        elif request.project_id != head.project_id:
            steps.append(SessionNotFound())
        else:
            try:
                ingested = request.ingest(current.state)
            except AcxError as exc:
                steps.append(exc)
                continue
            current = _drafted(steps, current, request, ingested)
    return _Plan(head, current, steps)


def _drafted(
    steps: list[_Draft | Outcome], head: SessionHead, request: StoreRequest, ingested: IngestResult
) -> SessionHead:
    """Append the draft of `request` to `steps`; returns the head after it."""
    draft = _Draft(request, uuid.uuid4(), head.seq, head.last_id, datetime.now(UTC), ingested)
    steps.append(draft)
    return head._replace(seq=head.seq + 1, last_id=draft.id, state=ingested.new_state_json.decode())


# A blob of megabytes decoded on the event loop would stall every other request of the process:
# multipart ones are decoded in a thread, JSON bodies in another process (`offload`).
_THREAD_ABOVE_CHARS = 1 << 20


async def _plan_off_loop(head: SessionHead, requests: Sequence[StoreRequest | Outcome]) -> StorePlan:
    if not any(isinstance(r, StoreRequest) and r.is_large for r in requests):
        return plan_stores(head, requests)
    steps: list[_Draft | Outcome] = []
    current = head
    for request in requests:
        if not isinstance(request, StoreRequest) or request.offload is None or request.project_id != head.project_id:
            large = isinstance(request, StoreRequest) and request.is_large
            one = await asyncio.to_thread(plan_stores, current, [request]) if large else plan_stores(current, [request])
            steps += one.steps
            current = one.after
            continue
        try:
            ingested = await request.offload(current.state)
        except AcxError as exc:
            steps.append(exc)
            continue
        current = _drafted(steps, current, request, ingested)
    return _Plan(head, current, steps)


# Arrays without NULLs travel in binary (`%(…)b`): psycopg escapes text-format array literals with
# a regex per element, a tenth of a store's CPU for the raw blobs and parts.
_WRITE = """
WITH locked AS (
    SELECT id FROM sessions WHERE id = ANY(%(sessions)b::uuid[]) {lock}
), advanced AS (
    UPDATE sessions s SET ingest_state = h.state, message_count = h.seq, last_message_id = h.last_id,
        updated_at = clock_timestamp()
    FROM unnest(%(sessions)b::uuid[], %(expect_seq)b::bigint[], %(expect_last)s::uuid[],
                %(states)b::text[], %(seqs)b::bigint[], %(lasts)s::uuid[])
        AS h(id, expect_seq, expect_last, state, seq, last_id)
    WHERE s.id = h.id AND s.id IN (SELECT id FROM locked)
        AND s.message_count = h.expect_seq AND s.last_message_id IS NOT DISTINCT FROM h.expect_last
    RETURNING s.id, s.disable_task_tracking
), inserted AS (
    INSERT INTO messages (id, session_id, project_id, seq, parent_id, role, format, raw, parts, meta,
                          created_at, updated_at)
    SELECT m.id, m.session_id, m.project_id, m.seq, m.parent_id, m.role, m.format, m.raw, m.parts, m.meta,
           m.at, m.at
    FROM unnest(%(ids)b::uuid[], %(msg_sessions)b::uuid[], %(projects)b::uuid[], %(msg_seqs)b::bigint[],
                %(parents)s::uuid[], %(roles)b::text[], %(formats)b::text[], %(raws)b::text[],
                %(parts)b::text[], %(metas)b::text[], %(ats)b::timestamptz[])
        AS m(id, session_id, project_id, seq, parent_id, role, format, raw, parts, meta, at)
    WHERE m.session_id IN (SELECT id FROM advanced)
)
SELECT id, disable_task_tracking FROM advanced
"""
# Fast path: never wait for a lock another transaction holds (that session is retried).
_WRITE_KNOWN = _WRITE.format(lock="FOR UPDATE SKIP LOCKED").encode()
# General path: the transaction already holds the locks.
_WRITE_LOCKED = _WRITE.format(lock="").encode()


async def _write(conn: Conn, statement: bytes, plans: dict[uuid.UUID, _Plan]) -> dict[uuid.UUID, bool]:
    """Run the write statement for `plans`; the sessions it advanced, with their tracking flag.

    Messages decoded in another process are copied in after it (`acx.db.message_copy`; only
    `write_locked` has them: its transaction holds the sessions' locks, so their sessions advanced).
    """
    all_drafts = [step for plan in plans.values() for step in plan.steps if isinstance(step, _Draft)]
    drafts = [d for d in all_drafts if d.request.offload is None]
    moving = {sid: plan for sid, plan in plans.items() if plan.after != plan.before}
    if not all_drafts:
        return {}
    params = {
        "sessions": list(moving),
        "expect_seq": [plan.before.seq for plan in moving.values()],
        "expect_last": [plan.before.last_id for plan in moving.values()],
        "states": [plan.after.state for plan in moving.values()],
        "seqs": [plan.after.seq for plan in moving.values()],
        "lasts": [plan.after.last_id for plan in moving.values()],
        "ids": [d.id for d in drafts],
        "msg_sessions": [d.request.session_id for d in drafts],
        "projects": [d.request.project_id for d in drafts],
        "msg_seqs": [d.seq for d in drafts],
        "parents": [d.parent_id for d in drafts],
        "roles": [d.ingested.role for d in drafts],
        "formats": [d.request.fmt for d in drafts],
        "raws": [d.request.raw for d in drafts],
        "parts": [str(d.ingested.parts_json, "utf-8") for d in drafts],
        "metas": [d.request.meta_json for d in drafts],
        "ats": [d.at for d in drafts],
    }
    rows = await (await conn.execute(statement, params)).fetchall()
    advanced: dict[uuid.UUID, bool] = {row[0]: bool(row[1]) for row in rows}  # type: ignore[misc]
    large = [_large_row(d) for d in all_drafts if d.request.offload is not None and d.request.session_id in advanced]
    if large:
        await copy_messages(conn, large)
    return advanced


def _large_row(d: _Draft) -> LargeMessageRow:
    r = d.request
    raw = r.raw.encode() if isinstance(r.raw, str) else r.raw
    return LargeMessageRow(
        d.id, r.session_id, r.project_id, d.seq, d.parent_id, d.ingested.role, r.fmt, raw, d.ingested.parts_json,
        r.meta_json, d.at,
    )  # fmt: skip


def _finish(plan: _Plan, disable_tracking: bool) -> list[Outcome]:
    status = "disable_tracking" if disable_tracking else "pending"
    outcomes: list[Outcome] = []
    for step in plan.steps:
        if isinstance(step, _Draft):
            stored = StoredMessage(
                step.id, step.request.session_id, step.parent_id, status, step.at, step.at, step.ingested.message
            )
            if step.request.idempotency is not None:
                stored = stored._replace(recorded=step.request.idempotency.respond(stored))
            outcomes.append(stored)
        else:
            outcomes.append(step)
    return outcomes


async def write_known(conn: Conn, plans: dict[uuid.UUID, StorePlan]) -> Written:
    """Write planned stores of sessions whose heads the caller knows, in one autocommit statement.

    Only for requests that write nothing but their message (not `needs_transaction`). Sessions
    left out of the result were not written: locked elsewhere, moved on, or deleted.
    """
    advanced = await _write(conn, _WRITE_KNOWN, plans)
    written = Written({}, {})
    # A session whose every request was rejected is left out too: a rejection may depend on the
    # ingest state, which only the statement's head check confirms.
    for sid, plan in plans.items():
        if sid in advanced:
            written.outcomes[sid] = _finish(plan, advanced[sid])
            written.heads[sid] = plan.after._replace(disable_tracking=advanced[sid])
    return written


async def write_locked(conn: Conn, groups: dict[uuid.UUID, list[StoreRequest]]) -> Written:
    """Write any requests in one transaction that waits for the sessions' row locks."""
    async with conn.transaction():
        rows = await (
            await conn.execute(
                "SELECT id, project_id, message_count, last_message_id, ingest_state, disable_task_tracking"
                " FROM sessions WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                (sorted(groups),),
            )
        ).fetchall()
        heads = {row[0]: SessionHead(*row[1:]) for row in rows}  # type: ignore[arg-type]
        plans: dict[uuid.UUID, _Plan] = {}
        written = Written({}, {})
        claimed: set[tuple[uuid.UUID, str]] = set()
        for sid, requests in groups.items():
            head = heads.get(sid)
            if head is None:
                written.outcomes[sid] = [SessionNotFound() for _ in requests]
                continue
            plans[sid] = await _plan_off_loop(head, [await _claim(conn, request, claimed) for request in requests])
        advanced = await _write(conn, _WRITE_LOCKED, plans)
        unwritten = [sid for sid, plan in plans.items() if plan.after != plan.before and sid not in advanced]
        if unwritten:  # impossible under the row locks; never acknowledge what was not inserted
            raise RuntimeError(f"sessions not advanced under their row lock: {unwritten}")
        for sid, plan in plans.items():
            tracking_off = advanced.get(sid, plan.before.disable_tracking)
            written.outcomes[sid] = _finish(plan, tracking_off)
            written.heads[sid] = plan.after._replace(disable_tracking=tracking_off)
        await _record(conn, [(plan, written.outcomes[sid]) for sid, plan in plans.items()])
    return written


async def _claim(conn: Conn, request: StoreRequest, claimed: set[tuple[uuid.UUID, str]]) -> StoreRequest | Outcome:
    """The request itself when it should be written, else its outcome (replay or key error)."""
    write = request.idempotency
    if write is None:
        return request
    if (request.project_id, write.key) in claimed:  # the same key twice in one batch: the first is running
        return ConflictError("idempotency_key_in_use", "a request with this Idempotency-Key is still being processed")
    try:
        earlier = await claim(conn, request.project_id, write.key, write.fingerprint)
    except AcxError as exc:
        return exc
    claimed.add((request.project_id, write.key))
    return request if earlier is None else Replayed(earlier)


async def _record(conn: Conn, finished: list[tuple[_Plan, list[Outcome]]]) -> None:
    """Asset references and idempotency records of the stored messages (same transaction)."""
    references: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, Upload]] = []
    for plan, outcomes in finished:
        for step, outcome in zip(plan.steps, outcomes, strict=True):
            if not isinstance(step, _Draft) or not isinstance(outcome, StoredMessage):
                continue
            request = step.request
            references.extend((request.project_id, outcome.session_id, outcome.id, u) for u in request.uploads)
            write = request.idempotency
            if write is not None and outcome.recorded is not None:
                await record(
                    conn, request.project_id, write.key, write.fingerprint, StoredResponse(201, outcome.recorded)
                )
    await add_references(conn, references)
