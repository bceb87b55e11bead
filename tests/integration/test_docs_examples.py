"""The Python examples of the user docs, run as real scripts against the stack.

* `docs/multi-provider-messages.txt` with the SDK in the dev env (acontext 0.1.22);
* `docs/messages-quickstart.txt` with acontext 0.0.9 (it still calls `send_message`), installed once
  into `.data/sdk-0.0.9` and put first on PYTHONPATH so that it shadows 0.1.22.

The snippets are copied verbatim except: the base URL (`localhost:8029` → the stack), attribute
access on provider items (`msg.role` → `msg["role"]`: they are plain dicts), the `"session_uuid"`
placeholder (→ a real session prepared by the test), and one missing `session_id = session.id`
in the multi-provider page (the doc's `delete(session_id)` uses an undefined name).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import Stack, repo_root

pytestmark = pytest.mark.integration

DOCS_BASE_URL = "http://localhost:8029/api/v1"
DOCS_KEY = "sk-ac-your-root-api-bearer-token"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
OLD_SDK = "0.0.9"


@pytest.fixture(scope="session")
def sdk_009() -> Path:
    """A directory holding acontext 0.0.9 alone (its dependencies come from the venv); cached across runs."""
    target = repo_root() / ".data" / f"sdk-{OLD_SDK}"
    marker = target / f"acontext-{OLD_SDK}.dist-info" / "METADATA"
    if not marker.exists():
        staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` exports UV
        if uv is not None:
            cmd = [uv, "pip", "install", "--python", sys.executable, "--target", str(staging)]
        else:
            cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(staging)]
        cmd += [f"acontext=={OLD_SDK}", "--no-deps"]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            message = f"could not install acontext=={OLD_SDK}: {result.stdout}\n{result.stderr}"
            if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
                pytest.fail(message)
            pytest.skip(message)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target


def _env(stack: Stack, pythonpath: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACONTEXT_", "PYTHONPATH"))}
    env["ACONTEXT_API_KEY"] = stack.root_key
    env["ACONTEXT_BASE_URL"] = stack.api_url
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def run_snippet(
    stack: Stack, code: str, tmp_path: Path, *, sdk: str, pythonpath: Path | None = None, session_id: str = ""
) -> list[str]:
    """Run a doc snippet as a script with SDK version `sdk`; its stdout lines."""
    assert stack.root_key == DOCS_KEY, "the docs hard-code the default root key"
    script = code.replace(DOCS_BASE_URL, stack.api_url)
    if session_id:
        script = script.replace('"session_uuid"', f'"{session_id}"')
    probe = (
        "import acontext, importlib.metadata, sys\n"
        "print(importlib.metadata.version('acontext'), acontext.__file__, file=sys.stderr)\n"
    )
    path = tmp_path / "snippet.py"
    path.write_text(probe + script)
    result = subprocess.run(
        [sys.executable, str(path)],
        env=_env(stack, pythonpath),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    loaded = result.stderr.splitlines()[0].split() if result.stderr else []
    assert loaded[:1] == [sdk], f"expected acontext {sdk}, got {loaded}"
    if pythonpath is not None:
        assert loaded[1].startswith(str(pythonpath)), loaded
    assert result.returncode == 0, f"snippet failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout.splitlines()


# --- docs/multi-provider-messages.txt (Python blocks, in page order) -----------------------------

MULTI_PROVIDER = """
import os
from acontext import AcontextClient

client = AcontextClient(
    api_key=os.getenv("ACONTEXT_API_KEY"),
)
session = client.sessions.create()

session = client.sessions.create(use_uuid="123e4567-e89b-12d3-a456-426614174000")

client.sessions.store_message(
    session_id=session.id,
    blob={"role": "user", "content": "What is the capital of France?"},
    format="openai"
)

client.sessions.store_message(
    session_id=session.id,
    blob={
        "role": "user",
        "content": [{"type": "text", "text": "Explain quantum computing"}]
    },
    format="anthropic"
)

client.sessions.store_message(
    session_id=session.id,
    blob={
        "role": "user",
        "parts": [{"text": "Explain quantum computing"}]
    },
    format="gemini"
)

client.sessions.store_message(
    session_id=session.id,
    blob={"role": "user", "content": "Hello"},
    format="openai",
    meta={"source": "web", "request_id": "abc123"}
)

# Stored as OpenAI, retrieve as Anthropic
result = client.sessions.get_messages(session_id=session.id, format="anthropic")

for msg in result.items:
    print(f"{msg['role']}: {msg['content']}")

session_id = session.id  # not in the doc, which uses an undefined name here
client.sessions.delete(session_id)
"""


def test_multi_provider_messages(stack: Stack, http: httpx.Client, tmp_path: Path) -> None:
    """The multi-provider page runs with SDK 0.1.22 and prints the Anthropic rendering."""
    fixed = "123e4567-e89b-12d3-a456-426614174000"
    assert http.delete(f"/session/{fixed}").status_code in (200, 404)
    lines = run_snippet(stack, MULTI_PROVIDER, tmp_path, sdk="0.1.22")
    assert lines == [
        "user: What is the capital of France?",
        "user: [{'type': 'text', 'text': 'Explain quantum computing'}]",
        "user: Explain quantum computing",
        "user: Hello",
    ]
    assert http.get(f"/session/{fixed}/configs").status_code == 404


# --- docs/messages-quickstart.txt (acontext 0.0.9) -----------------------------------------------

QS_CREATE = """
from acontext import AcontextClient

client = AcontextClient(
    api_key="sk-ac-your-root-api-bearer-token",
    base_url="http://localhost:8029/api/v1"
)
client.ping()
# Create a session
session = client.sessions.create()
print(f"Session created: {session.id}")
"""

QS_SEND_ONE = """
from acontext import AcontextClient

client = AcontextClient(
    api_key="sk-ac-your-root-api-bearer-token",
    base_url="http://localhost:8029/api/v1"
)
session = client.sessions.create()

# Send a message in OpenAI format
message = client.sessions.send_message(
    session_id=session.id,
    blob={
        "role": "user",
        "content": "What is the capital of France?"
    },
    format="openai"
)

print(f"Message sent: {message.id}")
"""

QS_SEND_MANY = """
from acontext import AcontextClient

client = AcontextClient(
    api_key="sk-ac-your-root-api-bearer-token",
    base_url="http://localhost:8029/api/v1"
)
session = client.sessions.create()

# Send multiple messages to build a conversation
messages_to_send = [
    {"role": "user", "content": "Hello! Can you help me with Python?"},
    {"role": "assistant", "content": "Of course! I'd be happy to help with Python. What would you like to know?"},
    {"role": "user", "content": "How do I read a JSON file?"},
    {"role": "assistant", "content": "You can use the json module: import json; with open('file.json') as f: data = json.load(f)"}
]

for msg in messages_to_send:
    message = client.sessions.send_message(
        session_id=session.id,
        blob=msg,
        format="openai"
    )
    print(f"Sent message: {message.id}")

print(f"Total messages sent: {len(messages_to_send)}")
"""  # noqa: E501 (verbatim doc snippet)

QS_GET = """
from acontext import AcontextClient

client = AcontextClient(
    api_key="sk-ac-your-root-api-bearer-token",
    base_url="http://localhost:8029/api/v1"
)

# Get messages from a session
result = client.sessions.get_messages(
    session_id="session_uuid",
    limit=50,
    format="openai",
    time_desc=True  # Most recent first
)

print(f"Retrieved {len(result.items)} messages")
for msg in result.items:
    print(f"- {msg['role']}: {msg['content'][:50]}...")

# Handle pagination if there are more messages
if result.next_cursor:
    next_page = client.sessions.get_messages(
        session_id="session_uuid",
        cursor=result.next_cursor,
        limit=50
    )
"""

QS_WORKFLOW = """
from acontext import AcontextClient

# Initialize client
client = AcontextClient(
    api_key="sk-ac-your-root-api-bearer-token",
    base_url="http://localhost:8029/api/v1"
)

try:
    # 1. Create a session
    session = client.sessions.create()

    # 2. Send multiple messages
    conversation = [
        {"role": "user", "content": "I'm having trouble logging in"},
        {"role": "assistant", "content": "I can help with that. What error are you seeing?"},
        {"role": "user", "content": "It says 'Invalid credentials'"},
        {"role": "assistant", "content": "Try resetting your password using the forgot password link."}
    ]

    for msg in conversation:
        client.sessions.send_message(
            session_id=session.id,
            blob=msg,
            format="openai"
        )

    print(f"Stored {len(conversation)} messages in session {session.id}")

    # 3. Retrieve messages later
    result = client.sessions.get_messages(
        session_id=session.id,
        format="openai",
        time_desc=False  # Chronological order
    )

    print(f"\\nRetrieved conversation ({len(result.items)} messages):")
    for msg in result.items:
        print(f"{msg['role']}: {msg['content']}")

finally:
    client.close()
"""

QS_DELETE = """
from acontext import AcontextClient

client = AcontextClient(
    api_key="sk-ac-your-root-api-bearer-token",
    base_url="http://localhost:8029/api/v1"
)

# Delete a session when you're done with it
session_id = "session_uuid"
client.sessions.delete(session_id)

print(f"Session {session_id} deleted successfully")
"""

QS_CLEANUP = """
from acontext import AcontextClient

client = AcontextClient(
    api_key="sk-ac-your-root-api-bearer-token",
    base_url="http://localhost:8029/api/v1"
)

# List all sessions
sessions = client.sessions.list(limit=100, time_desc=True)

print(f"Found {len(sessions.items)} sessions")

# Delete old sessions (example: delete all except the most recent 10)
for session in sessions.items[10:]:
    client.sessions.delete(session.id)
    print(f"Deleted session {session.id}")
"""


def _messages(http: httpx.Client, session_id: str) -> list[dict[str, object]]:
    response = http.get(f"/session/{session_id}/messages")
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["data"]["items"]
    return items


def test_quickstart_create(stack: Stack, http: httpx.Client, sdk_009: Path, tmp_path: Path) -> None:
    """Create: SDK 0.0.9 prints the new session's id."""
    (line,) = run_snippet(stack, QS_CREATE, tmp_path, sdk=OLD_SDK, pythonpath=sdk_009)
    created = re.fullmatch(f"Session created: ({UUID_RE})", line)
    assert created, line
    assert http.get(f"/session/{created[1]}/configs").status_code == 200


def test_quickstart_send_one(stack: Stack, sdk_009: Path, tmp_path: Path) -> None:
    """Send one: SDK 0.0.9 `send_message` works and prints the message id."""
    (line,) = run_snippet(stack, QS_SEND_ONE, tmp_path, sdk=OLD_SDK, pythonpath=sdk_009)
    assert re.fullmatch(f"Message sent: ({UUID_RE})", line), line


def test_quickstart_send_many(stack: Stack, sdk_009: Path, tmp_path: Path) -> None:
    """Send several: four messages, four distinct ids, and the total."""
    lines = run_snippet(stack, QS_SEND_MANY, tmp_path, sdk=OLD_SDK, pythonpath=sdk_009)
    assert len(lines) == 5
    assert lines[-1] == "Total messages sent: 4"
    ids = [re.fullmatch(f"Sent message: ({UUID_RE})", line) for line in lines[:4]]
    assert all(ids), lines
    assert len({m[1] for m in ids if m}) == 4


def test_quickstart_get_messages_pages(stack: Stack, http: httpx.Client, sdk_009: Path, tmp_path: Path) -> None:
    """`get_messages(limit=50, time_desc=True)` prints the 50 newest, chronologically; the next page loads."""
    session_id = http.post("/session", json={}).json()["data"]["id"]
    texts = [f"quickstart message number {i:02d} with enough words to be cut off at fifty" for i in range(53)]
    for i, text in enumerate(texts):
        role = "user" if i % 2 == 0 else "assistant"
        response = http.post(f"/session/{session_id}/messages", json={"blob": {"role": role, "content": text}})
        assert response.status_code == 201, response.text
    lines = run_snippet(stack, QS_GET, tmp_path, sdk=OLD_SDK, pythonpath=sdk_009, session_id=session_id)
    expected = [f"- {'user' if i % 2 == 0 else 'assistant'}: {texts[i][:50]}..." for i in range(3, 53)]
    assert lines == ["Retrieved 50 messages", *expected]


def test_quickstart_complete_workflow(stack: Stack, sdk_009: Path, tmp_path: Path) -> None:
    """The complete workflow prints the conversation back in order."""
    lines = run_snippet(stack, QS_WORKFLOW, tmp_path, sdk=OLD_SDK, pythonpath=sdk_009)
    assert re.fullmatch(f"Stored 4 messages in session {UUID_RE}", lines[0]), lines
    assert lines[1:] == [
        "",
        "Retrieved conversation (4 messages):",
        "user: I'm having trouble logging in",
        "assistant: I can help with that. What error are you seeing?",
        "user: It says 'Invalid credentials'",
        "assistant: Try resetting your password using the forgot password link.",
    ]


def test_quickstart_delete(stack: Stack, http: httpx.Client, sdk_009: Path, tmp_path: Path) -> None:
    """Deleting a session removes it and its messages."""
    session_id = http.post("/session", json={}).json()["data"]["id"]
    http.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "x"}})
    assert len(_messages(http, session_id)) == 1
    lines = run_snippet(stack, QS_DELETE, tmp_path, sdk=OLD_SDK, pythonpath=sdk_009, session_id=session_id)
    assert lines == [f"Session {session_id} deleted successfully"]
    assert http.get(f"/session/{session_id}/messages").status_code == 404


def test_quickstart_list_and_clean_up(stack: Stack, http: httpx.Client, sdk_009: Path, tmp_path: Path) -> None:
    """List (newest first) and delete all but the 10 most recent sessions."""
    tag = uuid.uuid4().hex
    mine = [http.post("/session", json={"configs": {"tag": tag}}).json()["data"]["id"] for _ in range(12)]
    before = http.get("/session", params={"limit": 100, "time_desc": "true"}).json()["data"]["items"]
    listed = [s["id"] for s in before]
    assert listed[:12] == mine[::-1]
    lines = run_snippet(stack, QS_CLEANUP, tmp_path, sdk=OLD_SDK, pythonpath=sdk_009)
    assert lines == [f"Found {len(listed)} sessions", *(f"Deleted session {sid}" for sid in listed[10:])]
    for sid in mine[2:]:
        assert http.get(f"/session/{sid}/configs").status_code == 200
    for sid in listed[10:]:
        assert http.get(f"/session/{sid}/configs").status_code == 404
