"""The trace scrubber's token rule: whole base64 / base64url runs (``/ + =`` included) are
secrets even when their pieces between ``/`` are short; paths and prose are left alone."""

from __future__ import annotations

import pytest

from specdistill.teacher.share import Scrubber

SECRETS = [
    ("issue-example", "0K4uGpSSozBfGIy2EJAPnjR/rohtxlB3lex0XEw/yy6yxz4Uk0yGfuBXunJJm/oSHoNrKsFX"),
    ("aws-secret-key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("base64-padded", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0NTY3ODk="),
    ("base64-plus", "aB3+dE5fG7hI9+jK1lM3nO5pQ7rS9tU1vW3xY5z"),
    ("base64url", "aB3_dE5fG7hI9-jK1lM3nO5pQ7rS9tU1vW3xY5z"),
    ("hex-in-url-path", "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2"),
]
KEPT = [
    ("unix-path", "/usr/lib/x86_64-linux-gnu/libfoo.so.1"),
    ("prose", "The answer is 42, see section 3/4 of the manual."),
    ("short-base64", "dGVzdA=="),
]


@pytest.mark.parametrize("secret", [s[1] for s in SECRETS], ids=[s[0] for s in SECRETS])
def test_a_secret_run_is_redacted_whole(secret: str) -> None:
    text = f"key: {secret} and more"  # no 'key=' assignment: the token rule alone
    scrubbed = Scrubber.build(disable=["assignment"]).scrub(text.replace("key: ", "see "))
    assert "[redacted:long_token]" in scrubbed
    assert not any(secret[i : i + 8] in scrubbed for i in range(len(secret) - 7))


@pytest.mark.parametrize("text", [k[1] for k in KEPT], ids=[k[0] for k in KEPT])
def test_paths_and_prose_are_left_alone(text: str) -> None:
    assert Scrubber.build().scrub(text) == text
