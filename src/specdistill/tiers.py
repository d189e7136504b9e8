"""Risk tiers: ours to assign, never the teacher's.

Pure functions over the default table and the user's overrides from
``[specdistill.tier_overrides]`` in config.toml.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from specdistill.errors import ConfigError
from specdistill.models import Edit, EditOp, EditPillar, EditRiskTier

logger = logging.getLogger(__name__)

DEFAULT_TIERS: dict[EditOp, EditRiskTier] = {
    EditOp.SET_MODEL_FOR_QUERY_CLASS: EditRiskTier.AUTO,
    EditOp.SET_MODEL_PARAM: EditRiskTier.AUTO,
    EditOp.PATCH_SYSTEM_PROMPT: EditRiskTier.REVIEW,
    EditOp.REPLACE_SYSTEM_PROMPT: EditRiskTier.REVIEW,
    EditOp.SET_AGENT_CLASS: EditRiskTier.REVIEW,
    EditOp.SET_AGENT_PARAM: EditRiskTier.AUTO,
    EditOp.EDIT_FEW_SHOT_EXEMPLARS: EditRiskTier.REVIEW,
    EditOp.ADD_TOOL_TO_AGENT: EditRiskTier.AUTO,
    EditOp.REMOVE_TOOL_FROM_AGENT: EditRiskTier.AUTO,
    EditOp.EDIT_TOOL_DESCRIPTION: EditRiskTier.AUTO,
    EditOp.LORA_FINETUNE: EditRiskTier.MANUAL,
}

PILLARS: dict[EditOp, EditPillar] = {
    EditOp.SET_MODEL_FOR_QUERY_CLASS: EditPillar.INTELLIGENCE,
    EditOp.SET_MODEL_PARAM: EditPillar.INTELLIGENCE,
    EditOp.PATCH_SYSTEM_PROMPT: EditPillar.AGENT,
    EditOp.REPLACE_SYSTEM_PROMPT: EditPillar.AGENT,
    EditOp.SET_AGENT_CLASS: EditPillar.AGENT,
    EditOp.SET_AGENT_PARAM: EditPillar.AGENT,
    EditOp.EDIT_FEW_SHOT_EXEMPLARS: EditPillar.AGENT,
    EditOp.ADD_TOOL_TO_AGENT: EditPillar.TOOLS,
    EditOp.REMOVE_TOOL_FROM_AGENT: EditPillar.TOOLS,
    EditOp.EDIT_TOOL_DESCRIPTION: EditPillar.TOOLS,
    EditOp.LORA_FINETUNE: EditPillar.INTELLIGENCE,
}


def parse_tier_overrides(raw: Mapping[str, Any] | None) -> dict[EditOp, EditRiskTier]:
    """Validate ``[specdistill.tier_overrides]``; unknown ops or tiers raise ConfigError."""
    overrides: dict[EditOp, EditRiskTier] = {}
    for op_name, tier_name in (raw or {}).items():
        try:
            op = EditOp(op_name)
        except ValueError:
            known = ", ".join(op.value for op in EditOp)
            raise ConfigError(
                f"[specdistill.tier_overrides]: unknown op {op_name!r}",
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
