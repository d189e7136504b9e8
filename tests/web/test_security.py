"""The review page's guards: the pure decisions as tables, then the live server (a real
``specdistill view`` subprocess) refusing a request without the token, a cross-site
POST, a POST without the CSRF token and a non-loopback Host header — each refusal
changing nothing on disk, beside a same-origin request that is let through."""

from __future__ import annotations

import pytest

from specdistill.web.security import (
    RunSecrets,
    check_request,
    csp,
    host_allowed,
    origin_allowed,
)
from web_helpers import LiveView

PORT = 8765


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("127.0.0.1:8765", True),
        ("localhost:8765", True),
        ("LOCALHOST:8765", True),
        ("[::1]:8765", True),
        ("127.0.0.1:8766", False),  # another port: another server
        ("127.0.0.1", False),  # port 80
        ("evil.example:8765", False),  # DNS rebinding: a name that resolves to us
        ("127.0.0.1.evil.example:8765", False),
        ("0.0.0.0:8765", False),
        ("192.168.1.5:8765", False),
        ("", False),
        (None, False),
    ],
)
def test_host_must_be_this_loopback_server(host: str | None, ok: bool) -> None:
    assert host_allowed(host, PORT) is ok


@pytest.mark.parametrize(
    ("origin", "referer", "ok"),
    [
        ("http://127.0.0.1:8765", None, True),
        ("http://localhost:8765", None, True),
        (None, "http://127.0.0.1:8765/queue", True),  # no Origin: the Referer decides
        ("http://evil.example", "http://127.0.0.1:8765/queue", False),  # Origin wins
        ("http://127.0.0.1:9999", None, False),
        ("https://127.0.0.1:8765", None, False),
        ("null", None, False),  # a sandboxed frame or a no-referrer form
        (None, None, False),
        (None, "http://evil.example/?u=http://127.0.0.1:8765", False),
        ("http://127.0.0.1:notaport", None, False),
    ],
)
def test_state_changes_need_this_origin(origin: str | None, referer: str | None, ok: bool) -> None:
    assert origin_allowed(origin, referer, PORT) is ok


def test_check_request_decisions() -> None:
    s = RunSecrets(port=PORT)
    host = {"host": f"127.0.0.1:{PORT}"}
    cookie = {**host, "cookie": f"{s.cookie_name}={s.token}"}
    same = {**cookie, "origin": s.origin}

    def verdict(method: str, query: str, headers: dict[str, str]) -> tuple[int, str | None]:
        v = check_request(s, method=method, path="/queue", query=query, headers=headers)
        return v.status, v.location

    assert verdict("GET", f"token={s.token}&x=1", host) == (303, "/queue?x=1")
    assert verdict("GET", "", host)[0] == 403
    assert verdict("GET", "token=wrong", host)[0] == 403
    assert verdict("GET", "", {**host, "cookie": f"{s.cookie_name}=wrong"})[0] == 403
    assert verdict("GET", "", {**host, "cookie": f"other_cookie={s.token}"})[0] == 403
    assert verdict("GET", "", cookie) == (0, None)
    assert verdict("GET", "", {**cookie, "host": "evil.example"})[0] == 421
    assert verdict("POST", "", cookie)[0] == 403  # no Origin, no Referer
    assert verdict("POST", "", {**cookie, "origin": "http://evil.example"})[0] == 403
    assert verdict("POST", "", same) == (0, None)
    assert verdict("PUT", "", same)[0] == 405
    assert verdict("GET", "", {**host, "cookie": "\x00;;=broken"})[0] == 403


def test_csp_allows_only_the_nonce() -> None:
    policy = csp("abc")
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'nonce-abc'" in policy and "unsafe-inline" not in policy


def test_each_run_has_fresh_secrets() -> None:
    a, b = RunSecrets(port=1), RunSecrets(port=1)
    assert a.token != b.token and a.csrf != b.csrf and a.token != a.csrf
    assert len(a.token) >= 40


# -- the live server ----------------------------------------------------------------


def snapshot(live: LiveView) -> tuple[bytes, str]:
    prompt = live.home / "agents/assistant/few_shot.json"
    return prompt.read_bytes(), live.session_json.read_text()


def test_a_request_without_the_token_is_refused(live: LiveView) -> None:
    with live.client(admitted=False) as anonymous:
        for path in ("/", "/queue", "/sessions", f"/sessions/{live.session_id}", "/log"):
            response = anonymous.get(path)
            assert response.status_code == 403, path
            assert "no access token" in response.text
            assert live.session_id not in response.text
        assert anonymous.get("/queue", params={"token": live.token[:-1] + "x"}).status_code == 403
    with live.client() as admitted:  # the positive control
        page = admitted.get("/queue")
        assert page.status_code == 200 and live.session_id in page.text


def test_every_response_carries_the_security_headers(live: LiveView) -> None:
    with live.client() as client:
        for response in (client.get("/queue"), client.get("/nowhere"), client.get(live.url)):
            headers = response.headers
            assert headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert "script-src 'nonce-" in headers["content-security-policy"]
            assert headers["x-content-type-options"] == "nosniff"
        first = client.get(live.url)
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        page = client.get("/queue").text
        nonce = client.get("/queue").headers["content-security-policy"].split("'nonce-")[1]
        assert nonce.split("'")[0] not in page  # a fresh nonce per response


def test_a_non_loopback_host_header_is_refused(live: LiveView) -> None:
    with live.client() as client:
        for host in ("evil.example", f"evil.example:{live.port}", f"127.0.0.1:{live.port + 1}"):
            response = client.get("/queue", headers={"host": host})
            assert response.status_code == 421, host
            assert live.session_id not in response.text
        assert client.get("/queue", headers={"host": f"localhost:{live.port}"}).status_code == 200


def test_a_cross_site_post_is_refused(live: LiveView) -> None:
    before = snapshot(live)
    queue_id = f"{live.session_id}:e7-terse-examples"
    with live.client() as client:
        csrf = live.csrf(client)
        form = {"csrf": csrf, "id": queue_id, "reason": "forged"}
        # another site's form: its Origin; no Origin and no Referer; a forged CSRF field
        refused = [
            client.post("/reject", data=form, headers={"origin": "http://evil.example"}),
            client.post("/reject", data=form),
            client.post("/reject", data={**form, "csrf": "guess"}, headers={"origin": live.origin}),
            client.post(
                "/reject", data={"id": queue_id, "reason": "x"}, headers={"origin": live.origin}
            ),
            client.post("/approve", data=form, headers={"origin": "http://evil.example"}),
            client.post(
                f"/sessions/{live.session_id}/rollback",
                data=form,
                headers={"referer": "http://evil.example/page"},
            ),
            client.get("/reject", params=form),  # a GET never changes anything
        ]
        assert [r.status_code for r in refused] == [403, 403, 400, 400, 403, 403, 405]
        assert snapshot(live) == before
        # the positive control: the page's own form, from its own origin
        done = client.post("/reject", data=form, headers={"origin": live.origin})
        assert done.status_code == 200, done.text
    assert '"status": "rejected_by_user"' in live.session_json.read_text()


def test_a_hostile_id_comes_back_as_text(live: LiveView) -> None:
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    with live.client() as client:
        csrf = live.csrf(client)
        response = client.post(
            "/reject",
            data={"csrf": csrf, "id": hostile, "reason": "x"},
            headers={"origin": live.origin},
        )
        assert response.status_code == 400
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img" in response.text
        assert "<script>alert" not in response.text and "<img" not in response.text
        no_slash = '"><img src=x onerror=alert(2)><b>'
        page = client.get(f"/sessions/{no_slash}")
        assert page.status_code == 400  # reached the handler: the id is quoted in the error
        assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;&lt;b&gt;" in page.text
        assert "<img" not in page.text and "<b>" not in page.text


def test_a_second_writer_is_refused_by_the_lock(live: LiveView) -> None:
    """Another process holding the home's lock (a CLI command): the page's actions say so."""
    from specdistill.checkpoint.lock import HomeLock

    before = snapshot(live)
    with live.client() as client, HomeLock(live.home / "learning", "specdistill approve"):
        csrf = live.csrf(client)
        headers = {"origin": live.origin}
        form = {"csrf": csrf, "id": f"{live.session_id}:e7-terse-examples", "reason": "x"}
        rejected = client.post("/reject", data=form, headers=headers)
        assert rejected.status_code == 409
        assert "the spec home is locked by pid" in rejected.text
        assert "(specdistill approve)" in rejected.text
        rolled = client.post(f"/sessions/{live.session_id}/rollback", data=form, headers=headers)
        assert rolled.status_code == 409 and "locked by" in rolled.text
        job = client.post(
            "/approve",
            data={**form, "id": f"{live.session_id}:e6-concise-prompt"},
            headers=headers,
            follow_redirects=True,
        )
        status_url = job.url.path + "/status"
        for _ in range(300):
            status = client.get(status_url).json()
            if status["state"] != "running":
                break
            import time

            time.sleep(0.1)
        assert status["state"] == "failed"
        assert status["error"].startswith("the spec home is locked by pid")
        assert snapshot(live) == before
    # the lock released, the same action goes through
    with live.client() as client:
        form["csrf"] = live.csrf(client)
        assert client.post("/reject", data=form, headers={"origin": live.origin}).status_code == 200
