"""The one boundary to OpenAI-compatible chat-completions endpoints (student and judge).

:class:`ChatEndpoint` POSTs ``{base_url}/chat/completions`` with httpx and translates
every failure into an :class:`EndpointCallError` whose ``retryable`` flag the runner
obeys:

=====================================================  ==========
failure                                                retryable
=====================================================  ==========
timeout (connect, read, write, pool)                   yes
connection refused / reset, protocol errors            yes
HTTP 5xx, 429 (rate limited), 408                      yes
a 2xx body that is not a chat completion ("garbage")   yes
other HTTP 4xx (bad key, unknown model, bad request)   no
an unusable URL or scheme                              no
=====================================================  ==========

The API key is held in a :class:`Secret`: it is sent in the ``Authorization`` header
and nowhere else. Its repr is masked, it refuses to be pickled, and every message this
module builds (which may quote a response body) has the key redacted.
"""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import Mapping
from typing import Any

import certifi
import httpx

from specdistill.evaluation.errors import EndpointCallError, EvaluationConfigError

#: How much of an error body is quoted in a message.
BODY_TAIL = 300
RETRYABLE_STATUS = frozenset({408, 429})


class Secret:
    """A string that never shows itself: masked repr/str, no pickling, redaction helper."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; call only where it is sent."""
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the secret replaced by ``***``."""
        return text.replace(self._value, "***") if self._value else text

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")

    def __bool__(self) -> bool:
        return bool(self._value)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying SSL context per process: building one costs ~50 ms (CA bundle)."""
    return ssl.create_default_context(cafile=certifi.where())


def _tail(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BODY_TAIL else "…" + text[-BODY_TAIL:]


def check_base_url(base_url: str, *, what: str) -> str:
    """The base URL without a trailing slash; anything but http(s) is refused."""
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise EvaluationConfigError(
            f"{what} base_url must start with http:// or https:// (got {base_url!r})"
        )
    return base_url.rstrip("/")


def message_text(response: Mapping[str, Any]) -> str:
    """The first choice's text content ('' when the model only called tools)."""
    content = response["choices"][0]["message"].get("content")
    if isinstance(content, list):  # some servers return content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


class ChatEndpoint:
    """An OpenAI-compatible chat-completions endpoint.

    The httpx client is created on first use in the running event loop and closed by
    :meth:`aclose` (the runner does this); a later call opens a new one, so an endpoint
    may be reused across ``asyncio.run`` calls.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: Secret | str | None = None,
        timeout: float = 120.0,
        name: str = "endpoint",
        key_env: str | None = None,
    ) -> None:
        self.base_url = check_base_url(base_url, what=name)
        self._key = api_key if isinstance(api_key, Secret) else Secret(api_key or "")
        #: The NAME of the environment variable the key came from (never the key): a
        #: Ray worker reads its own copy from there, since the key itself never travels.
        self.key_env = key_env
        self.timeout = float(timeout)
        self.name = name
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"ChatEndpoint({self.base_url!r}, name={self.name!r}, api_key={self._key!r})"

    @property
    def has_key(self) -> bool:
        return bool(self._key)

    def identity(self) -> dict[str, Any]:
        """What distinguishes this endpoint in a cache key (never the key)."""
        return {"base_url": self.base_url}

    def redact(self, text: str) -> str:
        return self._key.redact(text)

    def _fail(
        self, message: str, *, retryable: bool, status: int | None = None
    ) -> EndpointCallError:
        return EndpointCallError(
            self.redact(f"{self.name} {self.base_url}: {message}"),
            retryable=retryable,
            status=status,
        )

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST a chat-completions request: the parsed reply, or EndpointCallError."""
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(timeout=self.timeout, verify=_ssl_context())
        headers = {"Authorization": f"Bearer {self._key.reveal()}"} if self._key else {}
        try:
            response = await self._client.post(
                f"{self.base_url}/chat/completions", json=body, headers=headers
            )
        except httpx.TimeoutException as exc:
            kind = type(exc).__name__
            raise self._fail(
                f"timed out after {self.timeout:g}s ({kind})", retryable=True
            ) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise self._fail(f"unusable URL ({exc})", retryable=False) from None
        except httpx.TransportError as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise self._fail(f"connection failed ({detail})", retryable=True) from None
        status = response.status_code
        if status >= 400:
            retryable = status >= 500 or status in RETRYABLE_STATUS
            raise self._fail(
                f"HTTP {status}: {_tail(self.redact(response.text))}",
                retryable=retryable,
                status=status,
            )
        try:
            data = response.json()
            if not isinstance(data, dict):
                raise TypeError("body is not an object")
            if not isinstance(data["choices"][0]["message"], dict):
                raise TypeError("message is not an object")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise self._fail(
                f"garbage body, not a chat completion ({type(exc).__name__}): "
                f"{_tail(self.redact(response.text))}",
                retryable=True,
                status=status,
            ) from None
        return data

    def redact_json(self, data: Any) -> Any:
        """``data`` with the key redacted from any string inside (for raw replies)."""
        if not self._key:
            return data
        text = json.dumps(data, ensure_ascii=False)
        if self._key.reveal() not in text:
            return data
        try:
            return json.loads(self.redact(text))
        except ValueError:
            return "<redacted>"

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
