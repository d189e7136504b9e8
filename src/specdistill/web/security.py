"""The review page's guards: who may talk to it, and what a page may do in a browser.

The page changes a spec and its git history, so it defends against the two ways a
local web server is reached by someone else:

* **another site in the same browser** (CSRF, DNS rebinding). Every request must carry
  the per-run secret token: in the URL ``specdistill view`` prints (``?token=``), after
  which it is kept in an ``HttpOnly``, ``SameSite=Strict`` cookie named after the port
  (cookies are per host, not per port). Every request's ``Host`` must be a loopback name
  with the server's port, so a rebound DNS name is refused. A state-changing request
  must be a ``POST`` whose ``Origin`` (or, without one, ``Referer``) is this server,
  carrying the per-run CSRF token in a hidden form field.
* **what the spec, the plan and the teacher wrote**: rendered through autoescaping
  templates only, under a Content-Security-Policy that allows no script but the page's
  own nonce'd one, no framing, no plug-ins, no remote loads.

The decisions are plain functions of the request's parts; :class:`Guard` is the thin
ASGI middleware that applies them to every request.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The only address the page is served on.
LOOPBACK = "127.0.0.1"
#: Host names that reach this machine's loopback interface.
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
#: Methods that may not change anything.
SAFE_METHODS = frozenset({"GET", "HEAD"})
TOKEN_PARAM = "token"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class RunSecrets:
    """The secrets of one ``specdistill view`` run: the access token (in the printed URL
    and the cookie) and the CSRF token (in every form). Fresh for every run."""

    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def cookie_name(self) -> str:
        return f"specdistill_view_{self.port}"

    @property
    def origin(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def url(self, path: str = "/") -> str:
        """The URL to open: the page with the token that admits the browser."""
        return f"{self.origin}{path}?{urlencode({TOKEN_PARAM: self.token})}"


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a secret (a missing one never matches)."""
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


def host_allowed(host: str | None, port: int) -> bool:
    """Whether a ``Host`` header names this server on a loopback name (DNS-rebinding
    defence: ``evil.example:PORT`` resolved to 127.0.0.1 is still refused)."""
    if not host:
        return False
    host = host.lower()
    if host.endswith("]") or ":" not in host:  # no port given: the default one
        name, given_port = host, "80"
    else:
        name, _, given_port = host.rpartition(":")
    return name in LOOPBACK_NAMES and given_port == str(port)


def origin_allowed(origin: str | None, referer: str | None, port: int) -> bool:
    """Whether a state-changing request comes from this server's own pages: its
    ``Origin``, else its ``Referer``, must be ``http://<loopback name>:<port>``. A request
    with neither (or ``Origin: null``) is refused."""
    source = origin if origin is not None else referer
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    if parts.scheme != "http" or parts.hostname is None:
        return False
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    try:
        given_port = parts.port
    except ValueError:
        return False
    return host in LOOPBACK_NAMES and given_port == port


def csp(nonce: str) -> str:
    """The Content-Security-Policy of every response: nothing but this page's own
    nonce'd style and script, same-origin form posts and fetches, never framed."""
    return (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; "
        f"style-src 'nonce-{nonce}'; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "form-action 'self'; "
        "base-uri 'none'; "
        "frame-ancestors 'none'"
    )


def security_headers(nonce: str) -> list[tuple[bytes, bytes]]:
    """The headers every response carries."""
    pairs = [
        ("content-security-policy", csp(nonce)),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on
        # a form POST, which the CSRF check must refuse.
        ("referrer-policy", "same-origin"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("cache-control", "no-store"),
    ]
    return [(k.encode(), v.encode()) for k, v in pairs]


@dataclass(frozen=True)
class Verdict:
    """What the guard decided about a request: let it through (``status`` 0), redirect to
    ``location`` setting the cookie, or refuse with ``status`` and ``reason``."""

    status: int = 0
    reason: str = ""
    location: str | None = None
    set_cookie: bool = False


def check_request(
    secrets_: RunSecrets,
    *,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
) -> Verdict:
    """The guard's decision for one request (the CSRF field of a POST form is checked by
    the handler that reads the form, with :func:`csrf_ok`)."""
    if not host_allowed(headers.get("host"), secrets_.port):
        return Verdict(421, "refused: the Host header must be this loopback server")
    params = parse_qsl(query, keep_blank_values=True)
    given = next((v for k, v in params if k == TOKEN_PARAM), None)
    if given is not None:
        if not same_secret(given, secrets_.token):
            return Verdict(403, "refused: wrong token; open the URL specdistill view printed")
        if method in SAFE_METHODS:  # admit the browser, and drop the token from the URL
            rest = urlencode([(k, v) for k, v in params if k != TOKEN_PARAM])
            return Verdict(303, location=path + (f"?{rest}" if rest else ""), set_cookie=True)
    else:
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is no token
            cookie = SimpleCookie()
        morsel = cookie.get(secrets_.cookie_name)
        if not same_secret(morsel.value if morsel else None, secrets_.token):
            return Verdict(403, "refused: no access token; open the URL specdistill view printed")
    if method not in SAFE_METHODS:
        if method != "POST":
            return Verdict(405, "refused: only GET and POST")
        if not origin_allowed(headers.get("origin"), headers.get("referer"), secrets_.port):
            return Verdict(403, "refused: a cross-site request (Origin/Referer is not this page)")
    return Verdict()


def csrf_ok(secrets_: RunSecrets, form: dict[str, str]) -> bool:
    """Whether a posted form carries this run's CSRF token."""
    return same_secret(form.get(CSRF_FIELD), secrets_.csrf)


class Guard:
    """ASGI middleware: :func:`check_request` on every HTTP request, the security headers
    on every response, and a fresh CSP nonce in ``scope["state"]["nonce"]``."""

    def __init__(self, app: ASGIApp, secrets_: RunSecrets) -> None:
        self.app = app
        self.secrets = secrets_

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return  # no websockets
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["nonce"] = nonce
        verdict = check_request(
            self.secrets,
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
        )
        extra = security_headers(nonce)
        if verdict.status:
            await _plain(send, verdict, extra, self.secrets)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _plain(
    send: Send, verdict: Verdict, extra: list[tuple[bytes, bytes]], s: RunSecrets
) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), *extra]
    body = (verdict.reason or "").encode() + b"\n"
    if verdict.location is not None:
        headers.append((b"location", verdict.location.encode("latin-1")))
        body = b""
    if verdict.set_cookie:
        cookie = f"{s.cookie_name}={s.token}; Path=/; HttpOnly; SameSite=Strict"
        headers.append((b"set-cookie", cookie.encode()))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": verdict.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = [
    "CSRF_FIELD",
    "LOOPBACK",
    "Guard",
    "RunSecrets",
    "Verdict",
    "check_request",
    "csp",
    "csrf_ok",
    "host_allowed",
    "origin_allowed",
    "same_secret",
    "security_headers",
]
