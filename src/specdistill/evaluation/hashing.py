"""Canonical JSON and its sha256: the one way evaluation identifies content.

Canonical means sorted keys, no insignificant whitespace and UTF-8 text, so equal
content always hashes equally, in any process (never Python's salted ``hash()``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON text; NaN and infinities are refused (not JSON)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_hex(value: Any) -> str:
    """The sha256 (hex) of ``value``'s canonical JSON."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
