"""The spec home: path resolution refuses anything leaving the home, check_name,
init_home, and the default home."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from conftest import tree_bytes
from specdistill.errors import UnsafePath
from specdistill.home import SpecHome, check_name, default_home, init_home

# --- SpecHome.resolve ------------------------------------------------------------------------

REFUSED_PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("dotdot", ("..",)),
    ("dotdot-nested", ("agents", "..", "..", "etc")),
    ("dotdot-in-part", ("agents/../../x",)),
    ("dotdot-after-name", ("agents", "a/../..")),
    ("absolute", ("/etc/passwd",)),
    ("absolute-second", ("agents", "/etc")),
    ("empty", ("",)),
    ("empty-second", ("agents", "")),
    ("nul", ("a\x00b",)),
    ("newline", ("agents", "a\nb")),
    ("carriage-return", ("a\rb",)),
    ("escape", ("a\x1bb",)),
    ("del", ("a\x7fb",)),
    ("line-separator", ("a\u2028b",)),
]


@pytest.mark.parametrize(
    "parts", [p for _, p in REFUSED_PARTS], ids=[name for name, _ in REFUSED_PARTS]
)
def test_resolve_refuses(home: Path, parts: tuple[str, ...]) -> None:
    with pytest.raises(UnsafePath):
        SpecHome(home).resolve(*parts)


@pytest.mark.parametrize(
    ("parts", "relative"),
    [
        (("config.toml",), "config.toml"),
        (("agents", "coder", "system_prompt.md"), "agents/coder/system_prompt.md"),
        (("agents/coder/few_shot.json",), "agents/coder/few_shot.json"),
        (("tools", "descriptions.toml"), "tools/descriptions.toml"),
        (("agents", "not-yet-there", "system_prompt.md"), "agents/not-yet-there/system_prompt.md"),
        (("./config.toml",), "config.toml"),
        (("learning",), "learning"),
    ],
)
def test_resolve_accepts_normal_paths(home: Path, parts: tuple[str, ...], relative: str) -> None:
    spec = SpecHome(home)
    path = spec.resolve(*parts)
    assert path == home / relative
    assert spec.relative(path) == relative


def test_resolve_refuses_a_symlinked_dir_pointing_outside(home: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "system_prompt.md").write_text("secret\n")
    (home / "agents" / "evil").symlink_to(outside, target_is_directory=True)
    spec = SpecHome(home)
    with pytest.raises(UnsafePath, match="outside the spec home"):
        spec.resolve("agents", "evil", "system_prompt.md")
    with pytest.raises(UnsafePath):
        spec.system_prompt_path("evil")
    with pytest.raises(UnsafePath):
        spec.agent_dir("evil")


def test_resolve_refuses_a_symlinked_file_pointing_outside(home: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.md"
    outside.write_text("x\n")
    link = home / "agents" / "assistant" / "few_shot.json"
    link.unlink()
    link.symlink_to(outside)
    with pytest.raises(UnsafePath):
        SpecHome(home).few_shot_path("assistant")


def test_resolve_refuses_a_relative_symlink_climbing_out(home: Path) -> None:
    (home / "tools" / "up").symlink_to(Path("..") / "..", target_is_directory=True)
    with pytest.raises(UnsafePath):
        SpecHome(home).resolve("tools", "up", "x")


def test_resolve_accepts_a_symlink_that_stays_inside(home: Path) -> None:
    (home / "agents" / "alias").symlink_to(home / "agents" / "coder", target_is_directory=True)
    path = SpecHome(home).system_prompt_path("alias")
    assert path == home / "agents" / "alias" / "system_prompt.md"
    assert path.read_text().startswith("You are a careful coder.")


def test_home_reached_through_a_symlink_still_works(home: Path, tmp_path: Path) -> None:
    link = tmp_path / "home-link"
    link.symlink_to(home, target_is_directory=True)
    spec = SpecHome(link)
    assert spec.config_path.read_bytes() == (home / "config.toml").read_bytes()
    with pytest.raises(UnsafePath):
        spec.resolve("..")


@pytest.mark.parametrize("agent", ["../x", "..", "/abs", "a/b", ""], ids=repr)
def test_agent_paths_check_the_name(home: Path, agent: str) -> None:
    spec = SpecHome(home)
    for method in (spec.agent_dir, spec.system_prompt_path, spec.few_shot_path):
        with pytest.raises(UnsafePath):
            method(agent)


def test_home_root_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert SpecHome("rel").root == tmp_path / "rel"


# --- check_name ------------------------------------------------------------------------------

GOOD_NAMES = ["assistant", "coder-2", "qwen2.5", "a_b", "A", "7", "a" * 128, "a..b"]
BAD_NAMES: dict[str, object] = {
    "empty": "",
    "dot": ".",
    "dotdot": "..",
    "dotdot-slash": "../x",
    "slash": "a/b",
    "absolute": "/abs",
    "backslash": "a\\b",
    "windows-drive": "C:",
    "nul": "a\x00",
    "newline": "a\nb",
    "tab": "a\tb",
    "nel": "a\x85b",
    "paragraph-separator": "a\u2029b",
    "leading-dot": ".hidden",
    "leading-dash": "-x",
    "space": "a b",
    "cyrillic-a": "\u0430",
    "greek-omicron": "c\u03bfder",
    "fullwidth-dot-dot": "\uff0e\uff0e",
    "division-slash": "a\u2215b",
    "zero-width-joiner": "a\u200db",
    "emoji": "agent\U0001f916",
    "129-chars": "a" * 129,
    "200-chars": "a" * 200,
    "int": 1,
    "none": None,
    "bytes": b"agent",
}


@pytest.mark.parametrize("name", GOOD_NAMES, ids=lambda n: n[:20])
def test_check_name_accepts(name: str) -> None:
    assert check_name(name, "agent name") == name


@pytest.mark.parametrize("name", list(BAD_NAMES.values()), ids=list(BAD_NAMES))
def test_check_name_refuses(name: object) -> None:
    with pytest.raises(UnsafePath) as info:
        check_name(name, "tool name")
    message = info.value.message
    assert message.startswith("tool name")
    assert "\n" not in message


# --- init_home -------------------------------------------------------------------------------


def test_init_home_creates_a_parseable_home(tmp_path: Path) -> None:
    root = tmp_path / "new" / "home"
    written = init_home(root)
    assert sorted(p.relative_to(root).as_posix() for p in written) == [
        "agents/assistant/few_shot.json",
        "agents/assistant/system_prompt.md",
        "config.toml",
        "tools/descriptions.toml",
    ]
    config = tomllib.loads((root / "config.toml").read_text())
    assert set(config["agent"]) == {"assistant"}
    tools = tomllib.loads((root / "tools" / "descriptions.toml").read_text())
    # every tool an agent uses is in the catalog
    assert set(config["agent"]["assistant"]["tools"]) <= set(tools)
    assert json.loads((root / "agents" / "assistant" / "few_shot.json").read_text()) == []
    assert (root / "agents" / "assistant" / "system_prompt.md").read_text().strip()
    assert (root / "learning").is_dir()
    # the default config keeps a comment for the user, and the overrides table
    assert "#" in (root / "config.toml").read_text()
    assert config["specdistill"]["tier_overrides"] == {}


def test_init_home_leaves_existing_files_alone(home: Path) -> None:
    before = tree_bytes(home)
    assert init_home(home) == []
    assert tree_bytes(home) == before


def test_init_home_fills_in_only_missing_files(home: Path) -> None:
    (home / "tools" / "descriptions.toml").unlink()
    before = tree_bytes(home)
    written = init_home(home)
    assert written == [home / "tools" / "descriptions.toml"]
    after = tree_bytes(home)
    del after["tools/descriptions.toml"]
    assert after == before


def test_init_home_overwrite(home: Path) -> None:
    init_home(home, overwrite=True)
    assert (home / "config.toml").read_text().startswith("# specdistill spec home")


def test_init_home_is_idempotent(tmp_path: Path) -> None:
    init_home(tmp_path / "h")
    before = tree_bytes(tmp_path / "h")
    init_home(tmp_path / "h")
    assert tree_bytes(tmp_path / "h") == before


# --- default_home ----------------------------------------------------------------------------


def test_default_home_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPECDISTILL_HOME", str(tmp_path / "from-env"))
    assert default_home() == tmp_path / "from-env"


def test_default_home_falls_back_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPECDISTILL_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_home() == tmp_path
    monkeypatch.setenv("SPECDISTILL_HOME", "")
    assert default_home() == tmp_path  # empty means unset


def test_apply_context_uses_the_default_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from specdistill import ApplyContext

    monkeypatch.setenv("SPECDISTILL_HOME", os.fspath(home))
    assert ApplyContext().home == home


def test_a_home_given_with_a_tilde_is_the_users_home() -> None:
    from specdistill import ApplyContext

    assert SpecHome("~/spec").root == Path.home() / "spec"
    assert ApplyContext(openjarvis_home="~/.openjarvis").home == Path.home() / ".openjarvis"
