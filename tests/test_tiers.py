"""Risk tiers: the default table, user overrides in config.toml, and the rule that the
teacher's tier is always overwritten (and logged when it differed)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from conftest import make_edit, tree_bytes, valid_edit
from specdistill import ApplyContext, AutonomyMode, EditOp, EditPillar, EditRiskTier
from specdistill.errors import ConfigError
from specdistill.execute import execute_edits
from specdistill.tiers import (
    DEFAULT_TIERS,
    PILLARS,
    assign_tiers,
    parse_tier_overrides,
    tier_for,
)

#: DESIGN.md's edit vocabulary table: op -> (pillar, tier).
DESIGN_TABLE = {
    "set_model_for_query_class": ("intelligence", "auto"),
    "set_model_param": ("intelligence", "auto"),
    "patch_system_prompt": ("agent", "review"),
    "replace_system_prompt": ("agent", "review"),
    "set_agent_class": ("agent", "review"),
    "set_agent_param": ("agent", "auto"),
    "edit_few_shot_exemplars": ("agent", "review"),
    "add_tool_to_agent": ("tools", "auto"),
    "remove_tool_from_agent": ("tools", "auto"),
    "edit_tool_description": ("tools", "auto"),
    "lora_finetune": ("intelligence", "manual"),
}


def test_default_tiers_equal_design_md() -> None:
    assert {op.value: tier.value for op, tier in DEFAULT_TIERS.items()} == {
        op: tier for op, (_, tier) in DESIGN_TABLE.items()
    }


def test_pillars_equal_design_md() -> None:
    assert {op.value: pillar.value for op, pillar in PILLARS.items()} == {
        op: pillar for op, (pillar, _) in DESIGN_TABLE.items()
    }


def test_tier_for_uses_overrides_then_defaults() -> None:
    overrides = {EditOp.SET_MODEL_PARAM: EditRiskTier.MANUAL}
    assert tier_for(EditOp.SET_MODEL_PARAM, overrides) is EditRiskTier.MANUAL
    assert tier_for(EditOp.SET_MODEL_PARAM) is EditRiskTier.AUTO
    assert tier_for(EditOp.SET_AGENT_CLASS, overrides) is EditRiskTier.REVIEW


def test_parse_tier_overrides() -> None:
    parsed = parse_tier_overrides({"set_model_param": "review", "lora_finetune": "manual"})
    assert parsed == {
        EditOp.SET_MODEL_PARAM: EditRiskTier.REVIEW,
        EditOp.LORA_FINETUNE: EditRiskTier.MANUAL,
    }
    assert parse_tier_overrides(None) == {}
    assert parse_tier_overrides({}) == {}


def test_parse_tier_overrides_unknown_op() -> None:
    with pytest.raises(ConfigError) as info:
        parse_tier_overrides({"delete_everything": "auto"})
    assert "unknown op 'delete_everything'" in info.value.message
    assert "[specdistill.tier_overrides]" in info.value.message
    assert "set_model_param" in (info.value.hint or "")  # lists the known ops


@pytest.mark.parametrize("tier", ["sometimes", "AUTO", "", 1, ["auto"]], ids=repr)
def test_parse_tier_overrides_unknown_tier(tier: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_tier_overrides({"set_model_param": tier})
    assert "set_model_param" in info.value.message
    assert "is not a tier" in info.value.message
    assert info.value.hint == "use one of: auto, review, manual"


def _override(home: Path, lines: str) -> None:
    config = home / "config.toml"
    text = config.read_text()
    marker = '# op = "auto" | "review" | "manual"\n'
    assert marker in text
    config.write_text(text.replace(marker, marker + lines))


def test_overrides_from_config_change_routing(home: Path) -> None:
    _override(home, 'set_model_param = "review"\nreplace_system_prompt = "auto"\n')
    ctx = ApplyContext(home=home)
    assert ctx.tier_overrides() == {
        EditOp.SET_MODEL_PARAM: EditRiskTier.REVIEW,
        EditOp.REPLACE_SYSTEM_PROMPT: EditRiskTier.AUTO,
    }
    prompt = valid_edit(EditOp.REPLACE_SYSTEM_PROMPT)
    param = valid_edit(EditOp.SET_MODEL_PARAM)
    outcomes = execute_edits(edits=[param, prompt], ctx=ctx, autonomy_mode=AutonomyMode.TIERED)
    assert [o.status for o in outcomes] == ["pending_review", "applied"]
    assert (home / "agents" / "coder" / "system_prompt.md").read_text() == "Be brief.\n"
    assert "temperature = 0.2\nmax_tokens = 512" in (home / "config.toml").read_text()


def test_override_to_manual_skips(home: Path) -> None:
    _override(home, 'add_tool_to_agent = "manual"\n')
    ctx = ApplyContext(home=home)
    before = tree_bytes(home)
    [outcome] = execute_edits(
        edits=[valid_edit(EditOp.ADD_TOOL_TO_AGENT)], ctx=ctx, autonomy_mode=AutonomyMode.AUTO
    )
    assert outcome.status == "skipped"
    assert outcome.error == "manual tier, requires explicit approval"
    assert tree_bytes(home) == before


def test_overriding_lora_to_auto_still_refuses(home: Path) -> None:
    _override(home, 'lora_finetune = "auto"\n')
    before = tree_bytes(home)
    [outcome] = execute_edits(
        edits=[valid_edit(EditOp.LORA_FINETUNE)],
        ctx=ApplyContext(home=home),
        autonomy_mode=AutonomyMode.AUTO,
    )
    assert outcome.status == "rejected_by_gate"
    assert "never applied" in (outcome.error or "")
    assert tree_bytes(home) == before


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param('explode = "auto"\n', "unknown op 'explode'", id="unknown-op"),
        pytest.param('set_model_param = "yolo"\n', "is not a tier", id="unknown-tier"),
        pytest.param("set_model_param = 1\n", "is not a tier", id="int-tier"),
    ],
)
def test_bad_overrides_in_config_raise_before_writing(
    home: Path, lines: str, expected: str
) -> None:
    _override(home, lines)
    before = tree_bytes(home)
    with pytest.raises(ConfigError, match=expected):
        execute_edits(
            edits=[valid_edit(EditOp.SET_MODEL_PARAM)],
            ctx=ApplyContext(home=home),
            autonomy_mode=AutonomyMode.AUTO,
        )
    assert tree_bytes(home) == before


@pytest.mark.parametrize(
    "config",
    [
        pytest.param("[specdistill]\ntier_overrides = 3\n", id="overrides-not-a-table"),
        pytest.param("[specdistill]\ntier_overrides = ['auto']\n", id="overrides-array"),
        pytest.param("specdistill = 3\n", id="specdistill-not-a-table"),
        pytest.param('specdistill = "x"\n', id="specdistill-string"),
        pytest.param("[agent\n", id="invalid-toml"),
    ],
)
def test_malformed_override_sections_are_config_errors(tmp_path: Path, config: str) -> None:
    (tmp_path / "config.toml").write_text(config)
    with pytest.raises(ConfigError):
        ApplyContext(home=tmp_path).tier_overrides()


def test_no_config_means_no_overrides(tmp_path: Path) -> None:
    assert ApplyContext(home=tmp_path).tier_overrides() == {}


def test_assign_tiers_overwrites_the_incoming_tier_and_pillar() -> None:
    claimed = make_edit(EditOp.LORA_FINETUNE, {}, risk_tier="auto")
    claimed = claimed.model_copy(update={"pillar": EditPillar.TOOLS})
    [assigned] = assign_tiers([claimed])
    assert assigned.risk_tier is EditRiskTier.MANUAL
    assert assigned.pillar is EditPillar.INTELLIGENCE
    assert claimed.risk_tier is EditRiskTier.AUTO  # the input is not mutated


def test_teacher_auto_on_review_op_is_still_queued(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    edit = make_edit(
        EditOp.REPLACE_SYSTEM_PROMPT,
        {"agent": "coder", "new_content": "pwned\n"},
        id="sneaky",
        risk_tier="auto",
    )
    before = tree_bytes(home)
    caplog.set_level(logging.INFO, logger="specdistill")
    [outcome] = execute_edits(
        edits=[edit], ctx=ApplyContext(home=home), autonomy_mode=AutonomyMode.TIERED
    )
    assert outcome.status == "pending_review"
    assert tree_bytes(home) == before
    logged = [r.getMessage() for r in caplog.records if r.name == "specdistill.tiers"]
    assert logged == ["edit sneaky: tier review (as proposed: auto)"]


def test_matching_tier_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="specdistill")
    assign_tiers([make_edit(EditOp.SET_MODEL_PARAM, {}, risk_tier="auto")])
    assert not [r for r in caplog.records if r.name == "specdistill.tiers"]


def test_override_difference_is_logged_against_the_override(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="specdistill")
    edit = make_edit(EditOp.SET_MODEL_PARAM, {}, id="p1", risk_tier="auto")
    [assigned] = assign_tiers([edit], {EditOp.SET_MODEL_PARAM: EditRiskTier.REVIEW})
    assert assigned.risk_tier is EditRiskTier.REVIEW
    assert "edit p1: tier review (as proposed: auto)" in caplog.text
