"""Which of several equivalent endpoints gets the next request: a pure policy, no I/O.

An ``openai`` student may list several endpoints serving the same model
(``[specdistill.student] base_urls = [...]``). :class:`EndpointPool` decides, from its
own counts and the time it is given, where the next request goes; the student does the
HTTP call and reports back with :meth:`EndpointPool.release`.

- **Least outstanding.** A request goes to the endpoint with the fewest requests in
  flight among those that are up; ties go round-robin, so even one request at a time
  spreads over every endpoint.
- **Out on failure, back later.** A request that fails in a way that is the endpoint's
  fault (a timeout, a refused connection, HTTP 5xx or 429, a garbage body: the
  retryable failures) takes the endpoint out for ``cooldown`` seconds, doubled on each
  failure in a row up to ``max_cooldown``. When its time is up it is tried again; one
  success brings it fully back. A non-retryable failure (a 4xx: the request's fault)
  or a cancelled request says nothing about the endpoint (``failed=None``).
- **Never stuck.** When every endpoint is out, the one due back first is tried anyway:
  a request is never refused here (the runner's retries and error accounting decide
  what a failure means).

>>> pool = EndpointPool(2)
>>> first = pool.acquire(now=0.0); second = pool.acquire(now=0.0)
>>> (first, second)
(0, 1)
>>> pool.release(0, failed=True, now=1.0); pool.release(1, failed=False, now=1.0)
>>> [pool.acquire(now=2.0) for _ in range(3)]   # endpoint 0 is out until 1 + 5 s
[1, 1, 1]
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EndpointPool:
    """Load and health of ``size`` endpoints; see the module docstring for the rule."""

    size: int
    cooldown: float = 5.0
    max_cooldown: float = 120.0
    outstanding: list[int] = field(init=False)
    failures: list[int] = field(init=False)
    down_until: list[float] = field(init=False)
    _turn: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.size < 1 or self.cooldown < 0 or self.max_cooldown < self.cooldown:
            raise ValueError(
                f"EndpointPool: bad settings size={self.size!r}, cooldown={self.cooldown!r}, "
                f"max_cooldown={self.max_cooldown!r}"
            )
        self.outstanding = [0] * self.size
        self.failures = [0] * self.size
        self.down_until = [0.0] * self.size

    def is_up(self, index: int, now: float) -> bool:
        return self.down_until[index] <= now

    def choose(self, now: float) -> int:
        """The endpoint the next request should go to (without counting it)."""
        indices = range(self.size)
        up = [i for i in indices if self.is_up(i, now)]
        if not up:  # all out: try the one due back first
            return min(indices, key=lambda i: (self.down_until[i], i))
        return min(up, key=lambda i: (self.outstanding[i], (i - self._turn) % self.size))

    def acquire(self, now: float) -> int:
        """Choose an endpoint and count a request in flight on it."""
        index = self.choose(now)
        self.outstanding[index] += 1
        self._turn = (index + 1) % self.size
        return index

    def release(self, index: int, *, failed: bool | None, now: float) -> None:
        """A request on ``index`` ended: ``failed`` True when it was the endpoint's fault,
        False when it succeeded, None when it tells nothing about the endpoint."""
        self.outstanding[index] = max(0, self.outstanding[index] - 1)
        if failed is None:
            return
        if not failed:
            self.failures[index] = 0
            self.down_until[index] = 0.0
            return
        self.failures[index] += 1
        wait = min(self.max_cooldown, self.cooldown * 2.0 ** (self.failures[index] - 1))
        self.down_until[index] = max(self.down_until[index], now + wait)
