"""Risk tiers: ours to assign, never the teacher's.

Pure functions over the default table (each op's declared tier, see
:data:`specdistill.payloads.DECLARATIONS`) and the user's overrides from
``[specdistill.tier_overrides]`` in config.toml.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from specdistill.errors import ConfigError
from specdistill.models import Edit, EditOp, EditPillar, EditRiskTier
from specdistill.payloads import DECLARED

logger = logging.getLogger(__name__)

#: Each op's tier when the user sets no override (derived from the op declarations).
DEFAULT_TIERS: dict[EditOp, EditRiskTier] = {op: d.default_tier for op, d in DECLARED.items()}

#: Each op's pillar (derived from the op declarations).
PILLARS: dict[EditOp, EditPillar] = {op: d.pillar for op, d in DECLARED.items()}


def parse_tier_overrides(raw: Mapping[str, Any] | None) -> dict[EditOp, EditRiskTier]:
    """Validate ``[specdistill.tier_overrides]``; unknown ops or tiers raise ConfigError."""
    overrides: dict[EditOp, EditRiskTier] = {}
    for op_name, tier_name in (raw or {}).items():
        try:
            op = EditOp(op_name)
        except ValueError:
            ops = [op.value for op in EditOp]
            close = difflib.get_close_matches(str(op_name), ops, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(ops)
            raise ConfigError(
                f"[specdistill.tier_overrides]: unknown op {op_name!r}{guess}",
                hint=f"known ops: {known}",
            ) from None
        try:
            tier = EditRiskTier(tier_name)
        except ValueError:
            raise ConfigError(
                f"[specdistill.tier_overrides]: {op_name} = {tier_name!r} is not a tier",
                hint="use one of: auto, review, manual",
            ) from None
        overrides[op] = tier
    return overrides


def tier_for(op: EditOp, overrides: Mapping[EditOp, EditRiskTier] | None = None) -> EditRiskTier:
    """The tier of ``op``: the user's override if any, else the default table."""
    if overrides and op in overrides:
        return overrides[op]
    return DEFAULT_TIERS[op]


def assign_tiers(
    edits: Iterable[Edit], overrides: Mapping[EditOp, EditRiskTier] | None = None
) -> list[Edit]:
    """Copies of ``edits`` with our tier (and the op's pillar), whatever the teacher claimed.

    A differing claim is logged, so a reviewer can see that the teacher tried.
    """
    assigned = []
    for edit in edits:
        tier = tier_for(edit.op, overrides)
        if edit.risk_tier != tier:
            logger.info(
                "edit %s: tier %s (as proposed: %s)", edit.id, tier.value, edit.risk_tier.value
            )
        pillar = PILLARS[edit.op]
        if edit.risk_tier != tier or edit.pillar != pillar:
            edit = edit.model_copy(update={"risk_tier": tier, "pillar": pillar})
        assigned.append(edit)
    return assigned
