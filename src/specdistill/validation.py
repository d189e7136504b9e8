"""Validation helpers shared by every input model: name checks as pydantic validators,
and pydantic errors as one-line (field, reason) messages.

Payloads, plans, benchmarks and traces all use these, so they live at the bottom
layer: this module imports only pydantic, the standard library and
:mod:`specdistill.errors`, never the edit vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import AfterValidator, ValidationError

from specdistill.errors import UnsafePath


def checked(check: Callable[[str, str], str], kind: str) -> AfterValidator:
    """A pydantic validator running a name check such as :func:`specdistill.home.check_name`.

    ``check(value, kind)`` returns the value or raises UnsafePath; the UnsafePath
    becomes the ValueError pydantic reports, with the check's message.
    """

    def run(value: str) -> str:
        try:
            return check(value, kind)
        except UnsafePath as exc:
            raise ValueError(exc.message) from None

    return AfterValidator(run)


def describe_validation_error(exc: ValidationError, *, prefix: str = "payload") -> tuple[str, str]:
    """The first error of a pydantic ValidationError as (field, reason), for one-line messages."""
    first = exc.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in first["loc"])
    field = f"{prefix}.{loc}" if loc else prefix
    reason = first["msg"]
    if first["type"] == "extra_forbidden":
        reason = "unknown key"
    elif first["type"] == "missing":
        reason = "required key is missing"
    value = first.get("input")
    if first["type"] not in ("missing", "extra_forbidden") and not isinstance(value, dict):
        shown = repr(value)
        reason += f" (got {shown[:60] + '…' if len(shown) > 60 else shown})"
    extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return field, reason + extra
