"""Shared fixtures for the evaluation tests: a real loopback chat server and spec homes.

:class:`ChatServer` is a real OpenAI-compatible HTTP server (stdlib ``http.server`` in a
thread) on 127.0.0.1, port 0. Its answers are deterministic functions of the request,
so a test can prove that a spec field reached the request (a responder returning an int
fails that request with that HTTP status). Faults can be scripted per request, in
arrival order: ``"500"``, ``"429"``, ``"garbage"``, ``"nochoices"``,
``"close"`` (drop the connection), ``"sleep:<seconds>"``, ``"echo-auth:<status>"``
(reply with that status and the Authorization header in the body), ``"echo-auth-cut:<status>"``
(the same, placed where a 300-character tail of the body cuts the key), ``"toolcall"``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from specdistill import ApplyContext, AutonomyMode, Edit, execute_edits
from specdistill.evaluation.hashing import canonical_json

#: The answer to a request: its text, or an int, an HTTP status to fail with (e.g. 500
#: exactly on chosen tasks).
Responder = Callable[[dict[str, Any]], str | int]


def digest_responder(body: dict[str, Any]) -> str:
    """A digest of everything the spec controls in a request."""
    return "echo:" + hashlib.sha256(canonical_json(body).encode()).hexdigest()[:16]


class ChatServer:
    """A loopback chat-completions server; use as a context manager."""

    def __init__(self, responder: Responder = digest_responder, *, delay: float = 0.0) -> None:
        self.responder = responder
        self.delay = delay  # seconds added to every request, like a slow model
        self.faults: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                # the client may have given up (a timeout test): nothing to answer then
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    server.handle(self)

        # A listen backlog of 5 (the default) drops bursts of new connections, which
        # then retry after a second: a real server would not.
        ThreadingHTTPServer.request_queue_size = 128
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length", "0"))
        raw = request.rfile.read(length)
        body = json.loads(raw)
        with self.lock:
            self.requests.append(body)
            self.headers.append(dict(request.headers.items()))
            fault = self.faults.pop(0) if self.faults else "ok"
        if request.path != "/v1/chat/completions":
            return self.reply(request, 404, b'{"error": "not found"}')
        if self.delay:
            self.stopping.wait(self.delay)
        if fault.startswith("sleep:"):
            self.stopping.wait(float(fault.split(":")[1]))
            fault = "ok"
        if fault == "close":
            request.close_connection = True
            request.connection.shutdown(socket.SHUT_RDWR)
            return None
        if fault in ("500", "429"):
            return self.reply(request, int(fault), b'{"error": "injected"}')
        if fault == "garbage":
            return self.reply(request, 200, b"<html>definitely not json")
        if fault == "nochoices":
            return self.reply(request, 200, b'{"object": "chat.completion"}')
        if fault.startswith("echo-auth-cut:"):  # the key where a 300-char tail cuts it
            auth = request.headers.get("Authorization") or ""
            text = "x" * 500 + auth + "y" * 288
            return self.reply(request, int(fault.split(":")[1]), text.encode())
        if fault.startswith("echo-auth:"):
            text = json.dumps({"error": "bad key", "got": request.headers.get("Authorization")})
            return self.reply(request, int(fault.split(":")[1]), text.encode())
        content = self.responder(body)
        if isinstance(content, int):
            return self.reply(request, content, b'{"error": "injected by the responder"}')
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if fault == "toolcall":
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "calculator", "arguments": "{}"},
                    }
                ],
            }
        reply = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
        }
        return self.reply(request, 200, json.dumps(reply).encode())

    @staticmethod
    def reply(request: BaseHTTPRequestHandler, status: int, data: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


@contextmanager
def chat_server(responder: Responder = digest_responder) -> Iterator[ChatServer]:
    with ChatServer(responder) as server:
        yield server


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CONFIG = """\
# test spec home
[agent.alpha]
class = "simple"
tools = ["calculator", "search"]
temperature = 0.3

[agent.beta]
class = "simple"
tools = ["search"]
max_tokens = 64
max_turns = 3

[learning.routing.policy_map]
math = "math-model"
general = "small-model"

[models."small-model"]
temperature = 0.2
max_tokens = 512
top_p = 0.9

[models."math-model"]
temperature = 0.0
max_tokens = 128
"""

DESCRIPTIONS = """\
[calculator]
description = "Evaluate an arithmetic expression."

[search]
description = "Search the web."

[weather]
description = "Current weather for a city."
"""


def make_home(root: Path, *, extra_config: str = "") -> Path:
    """A spec home with agents alpha (calculator, search) and beta (search)."""
    (root / "agents" / "alpha").mkdir(parents=True)
    (root / "agents" / "beta").mkdir(parents=True)
    (root / "tools").mkdir()
    (root / "learning").mkdir()
    (root / "config.toml").write_text(CONFIG + extra_config)
    (root / "tools" / "descriptions.toml").write_text(DESCRIPTIONS)
    (root / "agents" / "alpha" / "system_prompt.md").write_text("You are alpha.\n")
    (root / "agents" / "beta" / "system_prompt.md").write_text("You are beta.\n")
    shots = [{"input": "1+1?", "output": "2"}]
    (root / "agents" / "alpha" / "few_shot.json").write_text(json.dumps(shots))
    (root / "agents" / "beta" / "few_shot.json").write_text("[]")
    return root


def apply_edit(home: Path, op: str, payload: dict[str, Any], target: str = "") -> None:
    """Apply one edit to ``home`` through the real appliers; fail unless it applied."""
    edit = Edit(id=f"e-{op}", pillar="agent", op=op, payload=payload, target=target)
    [outcome] = execute_edits(
        edits=[edit], ctx=ApplyContext(home=home), autonomy_mode=AutonomyMode.AUTO
    )
    assert outcome.status == "applied", outcome.error


def task(id: str, **fields: Any) -> dict[str, Any]:
    """A task line with defaults (exact scorer, cluster 'c')."""
    line = {
        "id": id,
        "input": f"question {id}",
        "cluster": "c",
        "reference": "x",
        "scorer": "exact",
    }
    line.update(fields)
    return line


def write_jsonl(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path
