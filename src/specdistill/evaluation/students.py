"""Students: the agent under evaluation, built from the spec being evaluated.

Every student has one method, ``async run(task, spec) -> StudentAnswer``, where
``spec`` is the :class:`~specdistill.evaluation.spec_view.StudentSpec` of the spec
under test for that task. Three kinds:

``openai`` (:class:`OpenAIStudent`)
    A reference agent over an OpenAI-compatible endpoint. The request is
    :func:`build_chat_request`: the spec's model; its params filtered to
    :data:`OPENAI_PARAMS` (others, such as ``max_turns`` or ``top_k``, are not sent);
    the system prompt as the system message (omitted when empty); each few-shot
    exemplar as a prior user/assistant pair; the task input as the last user message;
    the agent's tools as function schemas carrying the descriptions from
    ``tools/descriptions.toml`` with a permissive ``{"type": "object"}`` parameter
    schema. The reference agent has no tool implementations, so it makes one call and
    answers with the assistant's text; a reply that only calls tools answers ``""``
    (a fail under most scorers, never an error) and keeps the calls in ``raw``.

``command`` (:class:`CommandStudent`)
    The user's agent as a program. It gets one JSON document on stdin, the student
    protocol (:mod:`specdistill.evaluation.protocol`, ``specdistill schema --student``)::

        {"protocol": 1, "spec_home": "/abs/home", "task": {<the task's fields>},
         "spec": {<the resolved view: agent, model, params, system_prompt, ...>}}

    and prints its answer on stdout (surrounding whitespace is stripped). It runs in
    its own process group, which is killed on timeout (retryable). A non-zero exit is
    an error (not retried) quoting the tail of stderr.

``python`` (:class:`PythonStudent`)
    ``module:function`` called with ``(task_dict, spec_home_path, spec_dict)``, the three
    parts of the command student's document (a two-parameter function gets the first
    two, as before); the home is on ``sys.path`` while it is imported; sync functions run
    in a worker thread, async ones are awaited. A string return is the answer; any other
    JSON value is serialised. An exception is an error (retried only for TimeoutError
    and ConnectionError).

What a student reads decides its results' cache key and which tasks an edit leaves
unchanged (:meth:`Student.view_fingerprint`, ``fingerprint_scope``). The ``openai``
student reads exactly what it sends: its fingerprint is the request minus the task's
own message (:func:`spec_request`), so a param it never sends (``max_turns``) or the
agent's class changes neither. ``command`` and ``python`` students are handed the
home's path and may read any of it, so their safe default is the whole home
(``fingerprint_scope="home"``: any spec edit re-runs every task); an agent known to read
only the view it is given (the bundled example agent) is declared with
``fingerprint_scope="view"`` (``[specdistill.student] fingerprint_scope = "view"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import inspect
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from specdistill.evaluation.balance import EndpointPool
from specdistill.evaluation.endpoint import ChatEndpoint, message_text
from specdistill.evaluation.errors import EndpointCallError, EvaluationConfigError, TaskRunError
from specdistill.evaluation.hashing import sha256_hex
from specdistill.evaluation.protocol import student_document
from specdistill.evaluation.scoring import Task
from specdistill.evaluation.spec_view import StudentSpec

#: Spec params the openai student sends; every other param is ignored.
OPENAI_PARAMS = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "stop",
)
#: Characters of stderr quoted when a command fails.
STDERR_TAIL = 500
#: A permissive JSON schema for tool arguments: the catalog declares no parameters.
TOOL_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": True}

Scope = Literal["view", "home"]
#: Bump when what the openai student sends changes meaning, so old cache entries miss.
REQUEST_VERSION = 1


@dataclass(frozen=True)
class StudentAnswer:
    """A student's answer: its text, token usage if known, seconds taken, raw reply."""

    text: str
    usage: Mapping[str, Any] | None = None
    latency: float = 0.0
    raw: Any = None


@runtime_checkable
class Student(Protocol):
    """The interface the runner drives."""

    kind: str
    fingerprint_scope: Scope

    def identity(self) -> dict[str, Any]:
        """What distinguishes this student in a cache key (never a secret)."""
        ...

    def view_fingerprint(self, view: StudentSpec) -> str:
        """sha256 of what this student reads of ``view`` (used when ``fingerprint_scope``
        is ``"view"``): the cache key's spec part, and equal on two specs exactly when
        the task's inputs are the same."""
        ...

    async def run(self, task: Task, spec: StudentSpec) -> StudentAnswer: ...

    async def aclose(self) -> None: ...


def code_digest(paths: Sequence[str]) -> str:
    """sha256 over the bytes of those of ``paths`` that are files (scripts, modules)."""
    digest = hashlib.sha256()
    for item in paths:
        path = Path(item)
        if path.is_file():
            digest.update(item.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_chat_request(task: Task, spec: StudentSpec) -> dict[str, Any]:
    """The chat-completions body the openai student sends for ``task`` under ``spec``."""
    body = spec_request(spec)
    body["messages"].append({"role": "user", "content": task.input})
    return body


def spec_request(spec: StudentSpec) -> dict[str, Any]:
    """The part of the openai student's request that the spec decides: everything but the
    task's own (last) user message. Params outside :data:`OPENAI_PARAMS`, the agent's name
    and class are not in it: the student never sends them."""
    messages: list[dict[str, str]] = []
    if spec.system_prompt:
        messages.append({"role": "system", "content": spec.system_prompt})
    for exemplar in spec.few_shot:
        messages.append({"role": "user", "content": exemplar.input})
        messages.append({"role": "assistant", "content": exemplar.output})
    body: dict[str, Any] = {"model": spec.model, "messages": messages}
    body.update({k: spec.params[k] for k in OPENAI_PARAMS if k in spec.params})
    if spec.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": TOOL_PARAMETERS,
                },
            }
            for tool in spec.tools
        ]
    return body


class OpenAIStudent:
    """The reference agent over one or several OpenAI-compatible endpoints (see the module
    docstring).

    Several endpoints are equivalent servers of the same model: each request goes to the
    one with the fewest requests in flight, and one that fails (timeout, refused, 5xx)
    is taken out for a while and tried again later (:class:`EndpointPool`, a pure policy;
    this class does the I/O). The runner's retry of a failed request therefore lands on
    another endpoint.
    """

    kind = "openai"

    def __init__(
        self,
        endpoint: ChatEndpoint | Sequence[ChatEndpoint],
        *,
        fingerprint_scope: Scope = "view",
        cooldown: float = 5.0,
    ) -> None:
        endpoints = (endpoint,) if isinstance(endpoint, ChatEndpoint) else tuple(endpoint)
        if not endpoints:
            raise EvaluationConfigError("openai student: at least one endpoint is needed")
        self.endpoints = endpoints
        self.endpoint = endpoints[0]
        self.pool = EndpointPool(len(endpoints), cooldown=cooldown)
        self.fingerprint_scope = fingerprint_scope

    def __repr__(self) -> str:
        shown = self.endpoint if len(self.endpoints) == 1 else list(self.endpoints)
        return f"OpenAIStudent({shown!r})"

    def identity(self) -> dict[str, Any]:
        if len(self.endpoints) == 1:
            return {"kind": self.kind, **self.endpoint.identity()}
        # Equivalent servers: which one answered is not part of who the student is.
        urls = sorted({e.identity()["base_url"] for e in self.endpoints})
        return {"kind": self.kind, "base_urls": urls}

    def acquire(self) -> int:
        """The index of the endpoint the next request goes to (counted in flight)."""
        return self.pool.acquire(time.monotonic())

    def release(self, index: int, *, failed: bool | None) -> None:
        """A request on endpoint ``index`` ended (``failed``: see EndpointPool.release)."""
        self.pool.release(index, failed=failed, now=time.monotonic())

    def view_fingerprint(self, view: StudentSpec) -> str:
        """sha256 of what the request carries from the spec (:func:`spec_request`)."""
        return sha256_hex({"request_version": REQUEST_VERSION, "request": spec_request(view)})

    async def run(self, task: Task, spec: StudentSpec) -> StudentAnswer:
        started = time.perf_counter()
        index = self.acquire()
        endpoint = self.endpoints[index]
        failed: bool | None = None
        try:
            reply = await endpoint.complete(build_chat_request(task, spec))
            failed = False
        except EndpointCallError as exc:
            failed = True if exc.retryable else None  # a 4xx is the request's fault
            raise
        finally:
            self.release(index, failed=failed)
        usage = reply.get("usage")
        return StudentAnswer(
            text=endpoint.redact(message_text(reply)),
            usage=usage if isinstance(usage, dict) else None,
            latency=time.perf_counter() - started,
            raw=endpoint.redact_json(reply),
        )

    async def aclose(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.aclose()


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class CommandStudent:
    """The user's agent as a program (see the module docstring for the protocol)."""

    kind = "command"

    def __init__(
        self,
        argv: Sequence[str],
        *,
        timeout: float = 300.0,
        cwd: str | os.PathLike[str] | None = None,
        fingerprint_scope: Scope = "home",
    ) -> None:
        if not argv or not all(isinstance(a, str) and a for a in argv):
            raise EvaluationConfigError("command student: argv must be a non-empty list of strings")
        self.argv = tuple(argv)
        self.timeout = float(timeout)
        self.cwd = Path(cwd) if cwd is not None else None
        self.fingerprint_scope = fingerprint_scope

    def __repr__(self) -> str:
        return f"CommandStudent({list(self.argv)!r}, timeout={self.timeout:g})"

    def identity(self) -> dict[str, Any]:
        # The program's own files are part of who the student is: edit the agent's
        # code and its cached results no longer count.
        return {"kind": self.kind, "argv": list(self.argv), "code": code_digest(self.argv)}

    def view_fingerprint(self, view: StudentSpec) -> str:
        """The whole resolved view: the document the program receives."""
        return view.fingerprint()

    async def run(self, task: Task, spec: StudentSpec) -> StudentAnswer:
        document = student_document(task, spec)  # the protocol: evaluation/protocol.py
        started = time.perf_counter()
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.cwd,
                start_new_session=True,  # its own process group, killed whole on timeout
            )
        except OSError as exc:
            raise TaskRunError(f"command {self.argv[0]!r} cannot start ({exc})") from None
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(json.dumps(document).encode("utf-8")), self.timeout
            )
        except TimeoutError:
            _kill_group(proc)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.communicate(), 5.0)
            raise TaskRunError(
                f"command timed out after {self.timeout:g}s (process group killed)", retryable=True
            ) from None
        except BaseException:
            _kill_group(proc)  # cancelled by the runner: leave nothing behind
            raise
        latency = time.perf_counter() - started
        if proc.returncode != 0:
            tail = err.decode("utf-8", "replace").strip()[-STDERR_TAIL:]
            raise TaskRunError(
                f"command exited with status {proc.returncode}: {tail or '(no stderr)'}"
            )
        return StudentAnswer(text=out.decode("utf-8", "replace").strip(), latency=latency)

    async def aclose(self) -> None:
        return None


def import_function(
    reference: str, search_path: str | os.PathLike[str] | None = None
) -> Callable[..., Any]:
    """Resolve ``"package.module:function"`` (the function may be ``Class.method``);
    ``search_path`` (the spec home) is on ``sys.path`` while the module is imported, so
    an ``agent.py`` beside config.toml is ``"agent:answer"``."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise EvaluationConfigError(f"python student: {reference!r} is not 'module:function'")
    extra = str(search_path) if search_path is not None else None
    added = extra is not None and extra not in sys.path
    if added:
        sys.path.insert(0, str(extra))
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise EvaluationConfigError(
            f"python student: cannot import {reference!r} ({exc})"
        ) from None
    finally:
        if added:
            sys.path.remove(str(extra))
    if not callable(target):
        raise EvaluationConfigError(f"python student: {reference!r} is not callable")
    function: Callable[..., Any] = target
    return function


def _takes_three(function: Callable[..., Any]) -> bool:
    """Whether ``function`` accepts ``(task, spec_home, spec)``; older two-argument
    functions ``(task, spec_home)`` are still called that way."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [
        p for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]  # fmt: skip
    return len(positional) >= 3 or any(p.kind is p.VAR_POSITIONAL for p in positional)


class PythonStudent:
    """A Python callable ``(task_dict, spec_home_path, spec_dict) -> answer`` (or the older
    ``(task_dict, spec_home_path)``), sync or async."""

    kind = "python"

    def __init__(
        self,
        function: str | Callable[..., Any],
        *,
        timeout: float | None = None,
        fingerprint_scope: Scope = "home",
        search_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if isinstance(function, str):
            self.name = function
            self.function = import_function(function, search_path)
        else:
            self.name = f"{function.__module__}:{function.__qualname__}"
            self.function = function
        self.timeout = timeout
        self.fingerprint_scope = fingerprint_scope
        self.takes_spec = _takes_three(self.function)

    def __repr__(self) -> str:
        return f"PythonStudent({self.name!r})"

    def identity(self) -> dict[str, Any]:
        try:
            source = inspect.getsourcefile(self.function)
        except TypeError:  # a builtin or C function: no source to hash
            source = None
        return {
            "kind": self.kind,
            "function": self.name,
            "code": code_digest([source] if source else []),
        }

    def view_fingerprint(self, view: StudentSpec) -> str:
        """The whole resolved view (what an agent that reads only its view can see)."""
        return view.fingerprint()

    async def _call(self, task: Task, spec: StudentSpec) -> Any:
        args: tuple[Any, ...] = (task.as_json(), str(spec.home))
        if self.takes_spec:  # protocol 1: the same resolved spec a command student reads
            args = (*args, spec.as_json())
        try:
            if inspect.iscoroutinefunction(self.function):
                result = await self.function(*args)
            else:
                result = await asyncio.to_thread(self.function, *args)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            raise TaskRunError(
                f"{self.name} raised {type(exc).__name__}: {exc}",
                retryable=isinstance(exc, TimeoutError | ConnectionError),
            ) from None
        return result

    async def run(self, task: Task, spec: StudentSpec) -> StudentAnswer:
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(self._call(task, spec), self.timeout)
        except TimeoutError:
            # Only wait_for raises this here: the function's own errors became TaskRunError.
            # A sync function's thread cannot be stopped; it finishes in the background.
            raise TaskRunError(
                f"{self.name} timed out after {self.timeout}s", retryable=True
            ) from None
        if not isinstance(result, str):
            try:
                result = json.dumps(result, allow_nan=False, ensure_ascii=False)
            except (TypeError, ValueError):
                kind = type(result).__name__
                raise TaskRunError(f"{self.name} returned a {kind}, not text or JSON") from None
        return StudentAnswer(text=result, latency=time.perf_counter() - started, raw=None)

    async def aclose(self) -> None:
        return None
