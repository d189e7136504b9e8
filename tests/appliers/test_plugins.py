"""The ``specdistill.appliers`` entry-point group, through real installed-looking plug-ins.

Each test writes a plug-in module and a ``<name>.dist-info`` directory (METADATA and
entry_points.txt) into a temp dir, then runs a real Python subprocess with that dir on
PYTHONPATH, so ``importlib.metadata`` discovers the entry point exactly as it would
for a pip-installed package. Nothing is imported into the test process itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from textwrap import dedent

import pytest

pytestmark = pytest.mark.slow  # every test starts a Python subprocess

#: A plug-in that replaces edit_tool_description with one that upper-cases descriptions,
#: written only against specdistill's public API.
SHOUTING_PLUGIN = '''\
"""A demo plug-in: tool descriptions, but louder."""

import tomlkit

import specdistill


class ShoutingDescriptionApplier(specdistill.FileEditApplier):
    op = specdistill.EditOp.EDIT_TOOL_DESCRIPTION

    def plan_changes(self, edit, payload, ctx):
        path = ctx.spec_home.tool_descriptions_path
        before = path.read_bytes()
        doc = tomlkit.parse(before.decode("utf-8"))
        doc[payload.tool_name]["description"] = payload.new_description.upper()
        return [specdistill.FileChange(path, before, tomlkit.dumps(doc).encode("utf-8"))]
'''

#: Applies one edit_tool_description edit and reports what happened as JSON.
APPLY_SCRIPT = dedent(
    """\
    import json, sys
    import specdistill as sd

    home, mode = sys.argv[1], sys.argv[2]
    sd.init_home(home)
    edit = sd.Edit(
        id="e1",
        pillar="tools",
        op="edit_tool_description",
        payload={"tool_name": "calculator", "new_description": "Adds up numbers."},
    )
    ctx = sd.ApplyContext(home=home, session_id="plugin-test")
    if mode == "default":  # the seed's call: registry=None loads plug-ins
        registry = None
        applier = sd.default_registry().get(edit.op)
    else:
        registry = sd.default_registry(plugins=(mode == "plugins"))
        applier = registry.get(edit.op)
    outcomes = sd.execute_edits(edits=[edit], ctx=ctx, autonomy_mode="auto", registry=registry)
    print(json.dumps({
        "applier": type(applier).__module__ + "." + type(applier).__qualname__,
        "status": outcomes[0].status,
        "error": outcomes[0].error,
    }))
    """
)

#: Builds the default registry and reports the error it raised, if any.
LOAD_SCRIPT = dedent(
    """\
    import json
    import specdistill as sd

    report = {"plugins_false": len(sd.default_registry(plugins=False))}
    try:
        sd.default_registry()
    except sd.ConfigError as exc:
        report.update(error="ConfigError", message=exc.message, hint=exc.hint)
    except Exception as exc:
        report.update(error=type(exc).__name__, message=str(exc))
    print(json.dumps(report))
    """
)


def install_plugin(site: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str]):
    """Lay out a plug-in as pip would in site-packages: modules plus a dist-info."""
    site.mkdir(parents=True, exist_ok=True)
    for name, source in modules.items():
        (site / f"{name}.py").write_text(source, encoding="utf-8")
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8"
    )
    lines = ["[specdistill.appliers]", *(f"{k} = {v}" for k, v in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_python(site: Path, script: str, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    env.pop("SPECDISTILL_HOME", None)
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=site,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def description(home: Path) -> str:
    catalog = tomllib.loads((home / "tools" / "descriptions.toml").read_text(encoding="utf-8"))
    return catalog["calculator"]["description"]


@pytest.fixture
def shouting_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    install_plugin(
        site,
        "sd_plugin_demo",
        {"edit_tool_description": "sd_plugin_demo:ShoutingDescriptionApplier"},
        {"sd_plugin_demo": SHOUTING_PLUGIN},
    )
    return site


@pytest.mark.parametrize("mode", ["plugins", "default"])
def test_an_installed_plugin_replaces_a_builtin_applier(
    shouting_site: Path, tmp_path: Path, mode: str
) -> None:
    home = tmp_path / "home"
    report = run_python(shouting_site, APPLY_SCRIPT, str(home), mode)
    assert report["applier"] == "sd_plugin_demo.ShoutingDescriptionApplier"
    assert report["status"] == "applied", report["error"]
    assert description(home) == "ADDS UP NUMBERS."


def test_default_registry_without_plugins_ignores_them(shouting_site: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    report = run_python(shouting_site, APPLY_SCRIPT, str(home), "builtin")
    assert report["applier"] == "specdistill.appliers.tools.EditToolDescriptionApplier"
    assert report["status"] == "applied", report["error"]
    assert description(home) == "Adds up numbers."


NOT_AN_APPLIER = '''\
class Helpful:
    """Has an op, but is not an EditApplier."""

    op = "edit_tool_description"


INSTANCE = object()
'''

UNKNOWN_OP = """\
import specdistill


class FutureApplier(specdistill.FileEditApplier):
    op = "teleport_agent"

    def plan_changes(self, edit, payload, ctx):
        return []
"""

BROKEN = {
    "missing-module": ("sd_missing_module:Applier", {}, "No module named 'sd_missing_module'"),
    "missing-attribute": ("sd_bad:DoesNotExist", {"sd_bad": NOT_AN_APPLIER}, "DoesNotExist"),
    "import-raises": (
        "sd_bad:Applier",
        {"sd_bad": "raise RuntimeError('boom at import')\n"},
        "boom",
    ),
    "class-not-an-applier": ("sd_bad:Helpful", {"sd_bad": NOT_AN_APPLIER}, "not an EditApplier"),
    "object-not-an-applier": ("sd_bad:INSTANCE", {"sd_bad": NOT_AN_APPLIER}, "not an EditApplier"),
    "unknown-op": ("sd_bad:FutureApplier", {"sd_bad": UNKNOWN_OP}, "teleport_agent"),
}


@pytest.mark.parametrize(("target", "modules", "cause"), list(BROKEN.values()), ids=list(BROKEN))
def test_a_broken_plugin_is_a_config_error_naming_the_entry_point(
    tmp_path: Path, target: str, modules: dict[str, str], cause: str
) -> None:
    site = tmp_path / "site"
    install_plugin(site, "sd_plugin_broken", {"broken_ep": target}, modules)
    report = run_python(site, LOAD_SCRIPT)
    assert report["error"] == "ConfigError", report
    assert "'broken_ep'" in report["message"]
    assert target in report["message"]
    assert cause in report["message"]
    assert report["hint"]
    # plugins=False still builds every built-in applier in the same environment.
    assert report["plugins_false"] == 11


def test_a_broken_plugin_does_not_stop_a_session_that_opts_out(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_plugin(site, "sd_plugin_broken", {"broken_ep": "sd_missing_module:Applier"}, {})
    home = tmp_path / "home"
    report = run_python(site, APPLY_SCRIPT, str(home), "builtin")
    assert report["status"] == "applied", report["error"]
    assert description(home) == "Adds up numbers."
