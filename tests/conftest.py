"""Shared fixtures and helpers for the specdistill tests.

* ``home``: a fresh spec home in ``tmp_path``, made with :func:`specdistill.init_home`
  and then grown through real files into a two-agent (``assistant``, ``coder``),
  two-tool (``calculator``, ``web_search``) home whose config.toml carries user
  comments and unusual-but-valid formatting. Its exact text is ``HOME_CONFIG``.
* ``ctx``: an :class:`~specdistill.ApplyContext` over ``home``.
* ``make_edit(op, payload, ...)`` and ``EDIT_FACTORIES`` / ``valid_edit(op)``: Edits per op.
* ``tree_bytes(root)``: ``{relative posix path: bytes}`` of every file under ``root``,
  to assert that a tree is byte-identical before and after something.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from specdistill import ApplyContext, Edit, EditOp, EditRiskTier, init_home
from specdistill.tiers import DEFAULT_TIERS, PILLARS

#: The ops an auto-mode run applies: every op but the manual-tier ones (never applied).
APPLYING_OPS = frozenset(
    op for op, tier in DEFAULT_TIERS.items() if tier is not EditRiskTier.MANUAL
)

#: The config.toml of the ``home`` fixture: comments everywhere, aligned ``=``,
#: a multi-line array with a trailing comma, a literal-string key, a quoted
#: model name with a dot, and ``max_turns`` next to ``max_turns_hard``.
HOME_CONFIG = """\
# My agent spec. Hand-maintained: keep these comments.
# (specdistill must not drop them.)

[agent.assistant]   # the default agent
class = "simple"
tools = ["calculator"]  # what it may call
max_turns = 4
max_turns_hard = 10
temperature = 0.2

# The coding agent.
[agent.coder]
class      =   "react"      # aligned on purpose
tools = [
    "calculator",
    "web_search",  # network
]
max_turns = 8

[learning.routing.policy_map]
# query_class = "model"
general = "small-model"
'math' = "small-model"   # literal-string key

[models."small-model"]
temperature = 0.2
max_tokens = 512

[models."qwen2.5:3b"]
top_p = 0.9  # nucleus

[specdistill.tier_overrides]
# op = "auto" | "review" | "manual"
"""

HOME_TOOLS = """\
# One table per tool; agents may only use tools declared here.
[calculator]
description = "Evaluate an arithmetic expression."

[web_search]  # needs network
description = 'Search the web.'
"""

CODER_PROMPT = "You are a careful coder.\nThink step by step.\nAnswer with code.\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A spec home with two agents and two tools, built through real files."""
    root = tmp_path / "home"
    init_home(root)
    (root / "config.toml").write_text(HOME_CONFIG, encoding="utf-8")
    (root / "tools" / "descriptions.toml").write_text(HOME_TOOLS, encoding="utf-8")
    coder = root / "agents" / "coder"
    coder.mkdir(parents=True)
    (coder / "system_prompt.md").write_text(CODER_PROMPT, encoding="utf-8")
    # coder has no few_shot.json on purpose: "absent stays absent" cases need it.
    return root


@pytest.fixture
def ctx(home: Path) -> ApplyContext:
    return ApplyContext(home=home, session_id="test-session")


_ids = itertools.count(1)


def make_edit(
    op: EditOp | str,
    payload: dict[str, Any] | None = None,
    *,
    id: str | None = None,
    target: str = "",
    risk_tier: EditRiskTier | str | None = None,
) -> Edit:
    """An Edit of ``op`` with the pillar (and by default the tier) of the default table."""
    op = EditOp(op)
    return Edit(
        id=id or f"e{next(_ids)}-{op.value}",
        pillar=PILLARS[op],
        op=op,
        target=target,
        payload=payload or {},
        risk_tier=DEFAULT_TIERS[op] if risk_tier is None else EditRiskTier(risk_tier),
    )


#: One valid payload per op against the ``home`` fixture (all 11 ops).
VALID_PAYLOADS: dict[EditOp, dict[str, Any]] = {
    EditOp.SET_MODEL_FOR_QUERY_CLASS: {"query_class": "code", "model": "qwen2.5:7b"},
    EditOp.SET_MODEL_PARAM: {"model": "small-model", "param": "temperature", "value": 0.7},
    EditOp.PATCH_SYSTEM_PROMPT: {
        "agent": "coder",
        "diff": "@@ -2 +2 @@\n-Think step by step.\n+Think step by step, then test.\n",
    },
    EditOp.REPLACE_SYSTEM_PROMPT: {"agent": "coder", "new_content": "Be brief.\n"},
    EditOp.SET_AGENT_CLASS: {"agent": "coder", "new_class": "orchestrator"},
    EditOp.SET_AGENT_PARAM: {"agent": "assistant", "param": "max_turns", "value": 6},
    EditOp.EDIT_FEW_SHOT_EXEMPLARS: {
        "agent": "coder",
        "exemplars": [{"input": "2+2?", "output": "4"}],
    },
    EditOp.ADD_TOOL_TO_AGENT: {"agent": "assistant", "tool_name": "web_search"},
    EditOp.REMOVE_TOOL_FROM_AGENT: {"agent": "coder", "tool_name": "web_search"},
    EditOp.EDIT_TOOL_DESCRIPTION: {"tool_name": "calculator", "new_description": "Do math."},
    EditOp.LORA_FINETUNE: {"target_model": "small-model", "data_source": "traces/failing"},
}


def valid_edit(op: EditOp | str, **overrides: Any) -> Edit:
    """A valid edit of ``op`` for the ``home`` fixture; ``overrides`` replace payload keys."""
    op = EditOp(op)
    return make_edit(op, {**VALID_PAYLOADS[op], **overrides})


def tree_bytes(root: Path) -> dict[str, bytes]:
    """``{relative posix path: bytes}`` for every file under ``root`` (symlinks not followed)."""
    root = Path(root)
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless chromium through its chromedriver, for the report and page tests (skipped,
    saying why, when either is absent; scripts/test installs them when it can)."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(
            "chromium and chromedriver are not installed (Debian: apt-get install chromium "
            "chromium-driver; scripts/test installs them when it can)"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium (the dev extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
