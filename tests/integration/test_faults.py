"""Fault injection against real servers: kill the worker, restart Redis and PostgreSQL, exhaust the pool.

Every test here runs on a private stack (`_faults.py`): its own embedded PostgreSQL and Redis under
a temporary data dir (when DATABASE_URL / REDIS_URL are unset) plus its own gateway and converter,
so stopping servers never disturbs the session's shared `stack`. With external servers the tests
that restart them are skipped (and only those); with embedded ones nothing is skipped.

Properties checked, per the fault:
- worker SIGKILLed mid-burst: after a restart every acknowledged message is converted, exactly one
  rendering per format, tokens counted;
- Redis restarted empty mid-burst, or down for a while: stores keep succeeding and everything is
  converted once the sweep has run;
- PostgreSQL restarted mid-burst: no acknowledged message is lost, every failure is a 503 with
  Retry-After and an error envelope, and requests succeed as soon as the server is back;
- pool exhausted: a fast 503 with Retry-After, not a hang.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterator

import httpx
import psycopg
import pytest

from tests.conftest import unavailable
from tests.integration._faults import (
    FaultServers,
    FaultStack,
    StoreOutcome,
    api_client,
    converted_count,
    create_sessions,
    kill9_mid_job,
    open_fault_servers,
    store_load,
    store_one,
    wait_converted,
)

# SWEEP_GRACE_SECONDS is lowered so the converter's sweep (cron at :00/:15/:30/:45) re-enqueues
# lost jobs on its next run; one sweep period plus the grace bounds how long recovery may take.
SWEEP_GRACE_SECONDS = 2
SWEEP_PERIOD_SECONDS = 15
SWEEP_RECOVERY_BOUND = SWEEP_PERIOD_SECONDS + SWEEP_GRACE_SECONDS + 13.0
# A job that was running when its worker was SIGKILLed stays claimed by arq's in-progress key
# for job_timeout + 10 s; only then does the restarted worker run it again (the sweep re-enqueues
# messages left 'running' after twice the job timeout). The tests lower the job timeout.
RENDER_JOB_TIMEOUT_SECONDS = 5
WORKER_KILL_RECOVERY_BOUND = RENDER_JOB_TIMEOUT_SECONDS + 10.0 + SWEEP_PERIOD_SECONDS + 10.0
DEFAULT_POOL_TIMEOUT = 3.0  # DB_POOL_TIMEOUT default: the longest a request may wait for a connection
POSTGRES_OUTAGE_SECONDS = 10.0  # a PostgreSQL restart or failover, as seen by the gateway
PROBE_TIMEOUT = 8.0  # client-side limit for requests that should be refused within seconds


def _external(name: str) -> bool:
    return bool(os.environ.get(name, "").strip())


needs_restartable_postgres = pytest.mark.skipif(
    _external("DATABASE_URL"),
    reason="DATABASE_URL names an external PostgreSQL, which this test cannot stop and restart"
    " (unset it to run against a private embedded server)",
)
needs_restartable_redis = pytest.mark.skipif(
    _external("REDIS_URL"),
    reason="REDIS_URL names an external Redis, which this test cannot stop and restart"
    " (unset it to run against a private embedded server)",
)


@pytest.fixture(scope="module")
def fault_servers() -> Iterator[FaultServers]:
    """PostgreSQL and Redis for this module alone (embedded under a temporary data dir when possible)."""
    try:
        servers = open_fault_servers()
    except Exception as exc:  # noqa: BLE001 - reported as unavailable (skip locally, fail in CI)
        unavailable(f"cannot set up private servers for the fault tests: {exc}")
    yield servers
    servers.close()


@pytest.fixture(scope="module")
def fault_stack(fault_servers: FaultServers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    """A private gateway and converter on `fault_servers`."""
    stack = FaultStack(
        fault_servers,
        tmp_path_factory.mktemp("fault-logs"),
        extra_env={
            "SWEEP_GRACE_SECONDS": str(SWEEP_GRACE_SECONDS),
            "RENDER_JOB_TIMEOUT_SECONDS": str(RENDER_JOB_TIMEOUT_SECONDS),
            "RATE_LIMIT_BURST": "1000000",
        },
    )
    try:
        stack.ensure_running()
    except RuntimeError as exc:
        stack.stop()
        pytest.fail(str(exc))
    yield stack
    stack.stop()


@pytest.fixture
def faults(fault_stack: FaultStack) -> FaultStack:
    """The private stack, with servers, gateway and worker running (whatever the previous test did)."""
    fault_stack.ensure_running()
    return fault_stack


def _set_at(event: asyncio.Event, count: int) -> Callable[[int], None]:
    """A progress callback that sets `event` once `count` requests are done."""

    def progress(done: int) -> None:
        if done >= count:
            event.set()

    return progress


def _bad_outcomes(outcomes: list[StoreOutcome], allowed: set[int]) -> list[str]:
    return [o.describe() for o in outcomes if o.status not in allowed]


def _is_503_envelope(outcome: StoreOutcome) -> bool:
    body = outcome.body
    return (
        outcome.status == 503
        and outcome.retry_after is not None
        and outcome.retry_after.isdigit()
        and isinstance(body, dict)
        and body.get("code") == 503
        and isinstance(body.get("msg"), str)
        and bool(body["msg"])
    )


def _alive(stack: FaultStack) -> str:
    """'' when gateway and worker still run, else which one exited (with its log)."""
    problems = []
    for process in (stack.gateway, stack.worker):
        if process.proc is None or process.proc.poll() is not None:
            code = None if process.proc is None else process.proc.returncode
            problems.append(f"{process.module} exited with {code}:\n{process.log_tail(30)}")
    return "\n".join(problems)


@pytest.mark.timeout(180)
async def test_worker_sigkill_mid_burst_converts_every_message_exactly_once(faults: FaultStack) -> None:
    """`kill -9` of the converter during 2 000 stores: after a restart all are converted, once per format."""
    total = 2000
    async with api_client(faults.api_url) as client:
        sessions = await create_sessions(client, 20)
        quarter = asyncio.Event()
        burst = asyncio.create_task(store_load(client, sessions, total=total, on_progress=_set_at(quarter, total // 4)))
        await quarter.wait()
        claimed_at_kill = await asyncio.to_thread(kill9_mid_job, faults)
        converted_at_kill = await asyncio.to_thread(converted_count, faults.servers.database_url)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(faults.start_worker)
        outcomes = await burst

    assert not (bad := _bad_outcomes(outcomes, {201})), "stores failed:\n" + "\n".join(bad[:10])
    assert converted_at_kill < total, "the worker was killed after the burst was converted: nothing was tested"
    acknowledged = {o.message_id for o in outcomes if o.message_id is not None}
    assert len(acknowledged) == total
    report, waited = await wait_converted(
        faults.servers.database_url, sessions, WORKER_KILL_RECOVERY_BOUND, faults.worker_exited
    )
    assert set(report.states) == acknowledged, "stored messages differ from the acknowledged ones"
    assert not (problems := report.problems()), (
        f"after {waited:.0f} s (killed with {converted_at_kill}/{total} converted, {claimed_at_kill} jobs running):"
        f" {problems}\n{faults.logs_tail()}"
    )
    assert not (dead := _alive(faults)), dead


@needs_restartable_redis
@pytest.mark.timeout(120)
async def test_redis_restarted_empty_mid_burst_everything_converted_after_sweep(faults: FaultStack) -> None:
    """Redis shut down, its data deleted and restarted during a burst: stores succeed, the sweep requeues all."""
    total = 1000
    async with api_client(faults.api_url) as client:
        sessions = await create_sessions(client, 10)
        third = asyncio.Event()
        burst = asyncio.create_task(store_load(client, sessions, total=total, on_progress=_set_at(third, total // 3)))
        await third.wait()
        await asyncio.to_thread(faults.servers.stop_redis, wipe=True)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(faults.servers.start_redis)
        outcomes = await burst

    assert not (bad := _bad_outcomes(outcomes, {201})), "stores failed around the Redis restart:\n" + "\n".join(
        bad[:10]
    )
    acknowledged = {o.message_id for o in outcomes if o.message_id is not None}
    report, waited = await wait_converted(
        faults.servers.database_url, sessions, SWEEP_RECOVERY_BOUND, faults.worker_exited
    )
    assert set(report.states) == acknowledged
    assert not (dead := _alive(faults)), f"a process did not survive the Redis restart:\n{dead}"
    assert not (problems := report.problems()), f"after {waited:.0f} s: {problems}\n{faults.logs_tail()}"


@needs_restartable_redis
@pytest.mark.timeout(120)
async def test_redis_down_stores_succeed_and_are_converted_once_it_is_back(faults: FaultStack) -> None:
    """With Redis stopped, stores still answer 201 quickly; once it is back the sweep requeues them."""
    async with api_client(faults.api_url, concurrency=8) as client:
        sessions = await create_sessions(client, 4)
        await asyncio.to_thread(faults.servers.stop_redis)
        try:
            outcomes = await store_load(client, sessions, total=60, concurrency=8)
            async with api_client(faults.base_url) as probe:
                readyz = await probe.get("/readyz")
        finally:
            await asyncio.to_thread(faults.servers.start_redis)

    assert not (bad := _bad_outcomes(outcomes, {201})), "stores failed with Redis down:\n" + "\n".join(bad[:10])
    slow = [o.describe() for o in outcomes if o.elapsed > 2.5]
    assert not slow, "stores waited for the dead Redis:\n" + "\n".join(slow[:10])
    acknowledged = {o.message_id for o in outcomes if o.message_id is not None}
    report, waited = await wait_converted(
        faults.servers.database_url, sessions, SWEEP_RECOVERY_BOUND, faults.worker_exited
    )
    assert set(report.states) == acknowledged
    assert not (dead := _alive(faults)), f"a process did not survive the Redis outage:\n{dead}"
    assert not (problems := report.problems()), f"after {waited:.0f} s: {problems}\n{faults.logs_tail()}"
    assert readyz.status_code == 503, f"/readyz with Redis down: {readyz.status_code} {readyz.text}"


@needs_restartable_postgres
@pytest.mark.timeout(120)
async def test_postgres_restarted_mid_burst_loses_no_acknowledged_message(faults: FaultStack) -> None:
    """PostgreSQL stopped for 3 s under load: only 201 or 503+Retry-After, no acknowledged message lost,
    requests sent once it is back succeed, and everything acknowledged gets converted."""
    async with api_client(faults.api_url) as client:
        sessions = await create_sessions(client, 12)
        stop = asyncio.Event()
        load = asyncio.create_task(store_load(client, sessions, until=stop))
        await asyncio.sleep(1.5)
        await asyncio.to_thread(faults.servers.stop_postgres)
        await asyncio.sleep(3.0)
        await asyncio.to_thread(faults.servers.start_postgres)
        back = time.monotonic()
        await asyncio.sleep(4.0)
        stop.set()
        outcomes = await load

    assert not (bad := _bad_outcomes(outcomes, {201, 503})), "neither 201 nor 503:\n" + "\n".join(bad[:10])
    unavailable_ = [o for o in outcomes if o.status == 503]
    assert unavailable_, "no request saw the outage: nothing was tested"
    malformed = [o.describe() for o in unavailable_ if not _is_503_envelope(o)]
    assert not malformed, "503 without Retry-After or error envelope:\n" + "\n".join(malformed[:10])
    after = [o for o in outcomes if o.started >= back]
    assert after, "no request was sent after the restart"
    failed_after = [o.describe() for o in after if o.status != 201]
    assert not failed_after, (
        f"{len(failed_after)}/{len(after)} requests sent after PostgreSQL was back failed:\n"
        + "\n".join(failed_after[:10])
    )
    acknowledged = {o.message_id for o in outcomes if o.message_id is not None}
    report, waited = await wait_converted(
        faults.servers.database_url, sessions, SWEEP_RECOVERY_BOUND, faults.worker_exited
    )
    lost = acknowledged - set(report.states)
    assert not lost, f"{len(lost)} acknowledged messages are not in the database, e.g. {sorted(lost)[:3]}"
    assert not (dead := _alive(faults)), f"a process did not survive the PostgreSQL restart:\n{dead}"
    assert not (problems := report.problems()), f"after {waited:.0f} s: {problems}\n{faults.logs_tail()}"


@needs_restartable_postgres
@pytest.mark.timeout(120)
async def test_postgres_down_answers_503_envelope_and_recovers_without_restart(faults: FaultStack) -> None:
    """PostgreSQL down for ~10 s (a restart, a failover): store, read, session creation and /readyz
    answer 503 + Retry-After with an error envelope within the pool timeout; the first requests
    once it is back succeed, on the same gateway process."""
    assert faults.gateway.proc is not None
    gateway_pid = faults.gateway.proc.pid
    store_body = {"format": "openai", "blob": {"role": "user", "content": "during the outage"}}
    async with api_client(faults.api_url) as client, api_client(faults.base_url) as probe:
        [session_id] = await create_sessions(client, 1)
        warm = await store_one(client, session_id, 0)
        assert warm.status == 201, warm.describe()
        await asyncio.to_thread(faults.servers.stop_postgres)
        down_since = time.monotonic()
        try:
            answers = {
                "store": await _timed(client.post(f"/session/{session_id}/messages", json=store_body)),
                "read": await _timed(client.get(f"/session/{session_id}/messages")),
                "create session": await _timed(client.post("/session", json={}, timeout=PROBE_TIMEOUT)),
                "readyz": await _timed(probe.get("/readyz")),
            }
            while time.monotonic() - down_since < POSTGRES_OUTAGE_SECONDS:  # keep the gateway trying
                answers["store (later)"] = await _timed(client.post(f"/session/{session_id}/messages", json=store_body))
        finally:
            await asyncio.to_thread(faults.servers.start_postgres)
        back = time.monotonic()
        first = latest = await store_one(client, session_id, 1)
        while latest.status != 201 and time.monotonic() - back < 40:  # how long recovery really takes
            await asyncio.sleep(0.2)
            latest = await store_one(client, session_id, 2)
        recovered_after = time.monotonic() - back
        read = await client.get(f"/session/{session_id}/messages")
        ready = await probe.get("/readyz")

    # One outage serves every request kind: each one's problems are reported, none hides another's.
    problems = [
        p for name, answer in answers.items() for p in _refusal_problems(name, answer, DEFAULT_POOL_TIMEOUT + 2)
    ]
    assert not problems, "with PostgreSQL down:\n" + "\n".join(problems)
    assert latest.status == 201, f"the gateway did not recover within 40 s: {latest.describe()}\n{faults.logs_tail()}"
    assert first.status == 201, (
        f"the first store after PostgreSQL came back failed ({first.describe()}); stores succeed again only"
        f" {recovered_after:.1f} s after the restart\n{faults.logs_tail()}"
    )
    assert read.status_code == 200, read.text
    assert read.json()["data"]["ids"][0] == warm.message_id
    assert latest.message_id in read.json()["data"]["ids"]
    assert ready.status_code == 200, ready.text
    assert faults.gateway.proc.pid == gateway_pid, "the gateway was restarted"


@pytest.mark.timeout(90)
async def test_pool_exhausted_answers_503_with_retry_after_fast(faults: FaultStack) -> None:
    """A gateway with DB_POOL_MAX=2, DB_POOL_TIMEOUT=1 whose two connections wait on a locked table:
    the held requests and every request needing a connection get 503 + Retry-After within seconds
    (pool timeout, lock timeout), not a hang; after the lock is released the gateway serves again."""
    pool_timeout = 1.0
    gateway, api_url = await asyncio.to_thread(
        faults.extra_gateway, "gateway-small-pool", DB_POOL_MIN="1", DB_POOL_MAX="2", DB_POOL_TIMEOUT="1"
    )
    database_url = faults.servers.database_url
    try:
        async with api_client(api_url, timeout=12.0) as client:
            [free_sid] = await create_sessions(client, 1)  # also caches the API key
            warm = await store_one(client, free_sid, 0)
            assert warm.status == 201, warm.describe()
            async with await psycopg.AsyncConnection.connect(database_url) as locker:
                # Every statement touching messages now waits on the lock: two reads hold the
                # gateway's two connections, so anything else has to wait for the pool.
                await locker.execute("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
                stuck = [
                    asyncio.create_task(_timed(client.get(f"/session/{free_sid}/messages", timeout=PROBE_TIMEOUT)))
                    for _ in range(2)
                ]
                waiting = await _wait_lock_waiters(database_url, 2)
                assert waiting >= 2, f"only {waiting} gateway connections wait on the lock: pool not exhausted"
                probes = {
                    "read": asyncio.create_task(
                        _timed(client.get(f"/session/{free_sid}/messages", timeout=PROBE_TIMEOUT))
                    ),
                    "create session": asyncio.create_task(
                        _timed(client.post("/session", json={}, timeout=PROBE_TIMEOUT))
                    ),
                    "store other session": asyncio.create_task(
                        _timed(
                            client.post(
                                f"/session/{free_sid}/messages",
                                json={"format": "openai", "blob": {"role": "user", "content": "hi"}},
                                timeout=PROBE_TIMEOUT,
                            )
                        )
                    ),
                }
                results = {name: await task for name, task in probes.items()}
                await locker.rollback()
            stuck_outcomes = await asyncio.gather(*stuck)
            after = await client.get(f"/session/{free_sid}/messages")
    finally:
        gateway.stop()

    # One exhausted pool serves every request kind: each one's problems are reported, none hides another's.
    bound = pool_timeout + 2.0
    problems = [
        p
        for name, answer in results.items()
        # creating a session needs no locked table: it may get a connection a timed-out read gave back
        for p in _refusal_problems(name, answer, bound, allowed=201 if name == "create session" else None)
    ]
    problems += [
        p
        for i, answer in enumerate(stuck_outcomes)
        for p in _refusal_problems(f"read {i} held behind the lock", answer, bound, envelope=False)
    ]
    assert not problems, "with the pool exhausted:\n" + "\n".join(problems)
    assert after.status_code == 200, after.text


Answer = tuple[int | None, str | None, object, float]


def _refusal_problems(
    name: str, answer: Answer, bound: float, *, envelope: bool = True, allowed: int | None = None
) -> list[str]:
    """What keeps `answer` from being a 503 (with Retry-After and, if `envelope`, the error envelope)
    within `bound` seconds; a status `allowed` instead of 503 is only held to the bound."""
    status, retry_after, body, elapsed = answer
    problems = [f"{name}: answered only after {elapsed:.1f} s: {body}"] if elapsed >= bound else []
    if status == allowed:
        return problems
    if status != 503:
        problems.append(f"{name}: {status} after {elapsed:.1f} s: {body}")
    elif retry_after is None:
        problems.append(f"{name}: 503 without Retry-After")
    if envelope and not (isinstance(body, dict) and body.get("code") == 503 and body.get("msg")):
        problems.append(f"{name}: not a 503 envelope with a message: {body!r}")
    return problems


async def _timed(request: Awaitable[httpx.Response]) -> Answer:
    """Await an httpx request: (status, or None on a transport error or timeout; Retry-After; body; seconds)."""
    started = time.monotonic()
    try:
        response = await request
    except httpx.HTTPError as exc:
        return None, None, repr(exc), time.monotonic() - started
    try:
        body: object = response.json()
    except ValueError:
        body = response.text
    return response.status_code, response.headers.get("retry-after"), body, time.monotonic() - started


async def _wait_lock_waiters(database_url: str, wanted: int, bound: float = 5.0) -> int:
    """Wait until `wanted` backends of this database wait on a lock; how many do."""
    deadline = time.monotonic() + bound
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        while True:
            row = await (
                await conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
            ).fetchone()
            count = int(str(row[0])) if row else 0
            if count >= wanted or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.05)
