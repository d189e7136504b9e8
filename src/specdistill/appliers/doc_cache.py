"""Parsed documents kept between edits, keyed by the exact bytes they stand for.

Parsing ``config.toml`` with tomlkit is most of what an edit costs, and a plan
of many edits parses the same file over and over, each time as the previous
edit left it. :class:`BytesKeyedCache` keeps the parse instead: an entry's key
is the file's exact bytes, so a lookup with what is on disk now can never
return a document of anything else (a change made outside specdistill is a
different key, a miss, and a fresh parse).

tomlkit documents are mutable, so a cached document has one owner at a time:
:meth:`BytesKeyedCache.take` removes it (the caller may mutate it freely; if
the edit is refused half-way, the document is simply never given back) and
:meth:`BytesKeyedCache.put` hands a document back under the bytes it dumps to
now. Read-only values (tomllib's plain dicts) are shared with :meth:`get`.

The cache is bounded (least recently used entries go first) and thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class BytesKeyedCache(Generic[T]):
    """A small LRU map from exact file bytes to what was parsed from them.

    >>> cache: BytesKeyedCache[str] = BytesKeyedCache(2)
    >>> cache.put(b"a = 1", "doc")
    >>> cache.take(b"a = 1"), cache.take(b"a = 1")
    ('doc', None)
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a cache needs room for at least one entry")
        self.size = size
        self._entries: OrderedDict[bytes, T] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.enabled = True

    def get(self, data: bytes) -> T | None:
        """The value kept for ``data`` (shared: do not mutate it), or None."""
        with self._lock:
            value = self._entries.get(data) if self.enabled else None
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(data)
            self.hits += 1
            return value

    def take(self, data: bytes) -> T | None:
        """Remove and return the value kept for ``data``: the caller owns it now."""
        with self._lock:
            value = self._entries.pop(data, None) if self.enabled else None
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
            return value

    def put(self, data: bytes, value: T) -> None:
        """Keep ``value`` as what ``data`` parses to (replacing any earlier value)."""
        with self._lock:
            if not self.enabled:
                return
            self._entries[data] = value
            self._entries.move_to_end(data)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    @contextmanager
    def disabled(self) -> Iterator[None]:
        """Parse afresh every time inside the block (the reference the cache is tested against)."""
        with self._lock:
            previous, self.enabled = self.enabled, False
            self._entries.clear()
        try:
            yield
        finally:
            with self._lock:
                self.enabled = previous

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)
