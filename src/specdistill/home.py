"""The spec home: every path an edit can touch, and the refusal of any other.

Layout (compatible with an OpenJarvis home)::

    <home>/config.toml
    <home>/agents/<agent>/system_prompt.md
    <home>/agents/<agent>/few_shot.json
    <home>/tools/descriptions.toml
    <home>/learning/            specdistill's own state

Names that come from a teacher (agents, tools) become path components only
after :func:`check_name` accepted them, and every resolved path is checked to
stay inside the home after symlinks are followed.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from specdistill.errors import UnsafePath
from specdistill.fsio import atomic_write_bytes

#: A name that may become a path component or a TOML table name.
#: Deliberately narrow: ASCII letters, digits, '.', '_' and '-', starting with
#: a letter or digit, so no separator, dot-dot, control or look-alike character
#: can get through.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]")

CONFIG_FILE = "config.toml"
AGENTS_DIR = "agents"
TOOLS_DIR = "tools"
LEARNING_DIR = "learning"
SYSTEM_PROMPT_FILE = "system_prompt.md"
FEW_SHOT_FILE = "few_shot.json"
TOOL_DESCRIPTIONS_FILE = "descriptions.toml"

#: The parts of the home that belong to the user's spec (tracked, edited).
SPEC_PATHS = (CONFIG_FILE, AGENTS_DIR, TOOLS_DIR)


def check_name(name: object, kind: str = "name") -> str:
    """Return ``name`` if it is a safe single path component, else raise UnsafePath."""
    if not isinstance(name, str):
        raise UnsafePath(f"{kind} must be a string, got {type(name).__name__}", name=None)
    if not name:
        raise UnsafePath(f"{kind} is empty", name=name)
    if _CONTROL.search(name):
        raise UnsafePath(f"{kind} {name!r} contains a control character", name=name)
    if "/" in name or "\\" in name or name in (".", ".."):
        raise UnsafePath(f"{kind} {name!r} contains a path separator or is '.'/'..'", name=name)
    if not NAME_PATTERN.fullmatch(name):
        raise UnsafePath(
            f"{kind} {name!r} is not a plain name (letters, digits, '.', '_', '-'; "
            "at most 128; starting with a letter or digit)",
            name=name,
        )
    return name


def check_text_key(value: object, kind: str, *, max_length: int = 200) -> str:
    """A string used as a TOML key or value name only (never a path): printable, bounded."""
    if not isinstance(value, str):
        raise UnsafePath(f"{kind} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise UnsafePath(f"{kind} is empty")
    if len(value) > max_length:
        raise UnsafePath(f"{kind} is longer than {max_length} characters")
    if _CONTROL.search(value):
        raise UnsafePath(f"{kind} {value!r} contains a control character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (JSON allows "\ud800") cannot be written to a UTF-8 file.
        raise UnsafePath(f"{kind} {value!r} is not valid Unicode (lone surrogate)") from None
    return value


class SpecHome:
    """A spec home directory. Resolves the files edits may touch, and nothing else."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()

    def __repr__(self) -> str:
        return f"SpecHome({str(self.root)!r})"

    # -- well-known files ---------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.resolve(CONFIG_FILE)

    @property
    def tool_descriptions_path(self) -> Path:
        return self.resolve(TOOLS_DIR, TOOL_DESCRIPTIONS_FILE)

    @property
    def learning_dir(self) -> Path:
        return self.resolve(LEARNING_DIR)

    def agent_dir(self, agent: str) -> Path:
        return self.resolve(AGENTS_DIR, check_name(agent, "agent name"))

    def system_prompt_path(self, agent: str) -> Path:
        return self.resolve(AGENTS_DIR, check_name(agent, "agent name"), SYSTEM_PROMPT_FILE)

    def few_shot_path(self, agent: str) -> Path:
        return self.resolve(AGENTS_DIR, check_name(agent, "agent name"), FEW_SHOT_FILE)

    # -- the one gate every path goes through ---------------------------------
    def resolve(self, *parts: str) -> Path:
        """Join ``parts`` under the home and refuse anything that ends up outside it.

        Each part must be a plain relative component. Symlinks are followed: a
        link inside the home that points outside it is refused too.
        """
        for part in parts:
            if not part or os.path.isabs(part) or _CONTROL.search(part):
                raise UnsafePath(f"unsafe path component {part!r}", name=part)
            for piece in Path(part).parts:
                if piece in ("..", "") or piece.startswith("/"):
                    raise UnsafePath(f"path component {part!r} leaves the spec home", name=part)
        candidate = self.root.joinpath(*parts)
        real_root = self.root.resolve()
        real = candidate.resolve(strict=False)
        if real != real_root and real_root not in real.parents:
            raise UnsafePath(
                f"{candidate.relative_to(self.root)} resolves outside the spec home (to {real})",
                name=str(candidate.relative_to(self.root)),
            )
        return candidate

    def relative(self, path: Path) -> str:
        """The path as the user sees it: relative to the home, with forward slashes."""
        return path.relative_to(self.root).as_posix()


DEFAULT_CONFIG = """\
# specdistill spec home. Edit freely: comments and ordering survive every edit.

[agent.assistant]
class = "simple"
tools = ["calculator"]
max_turns = 4
# An agent's param wins over its model's: temperature lives on the model below, so
# set_model_param edits reach this agent.

[learning.routing.policy_map]
# query_class = "model"
general = "small-model"

[models."small-model"]
temperature = 0.2
max_tokens = 512

[specdistill.tier_overrides]
# op = "auto" | "review" | "manual"
"""

DEFAULT_PROMPT = "You are a helpful assistant. Answer concisely.\n"

DEFAULT_TOOL_DESCRIPTIONS = """\
# One table per tool; agents may only use tools declared here.
[calculator]
description = "Evaluate an arithmetic expression."
"""


def init_home(root: str | os.PathLike[str], *, overwrite: bool = False) -> list[Path]:
    """Create a minimal valid spec home at ``root``; return the files written.

    Existing files are left alone unless ``overwrite`` is true.
    """
    home = SpecHome(root)
    home.root.mkdir(parents=True, exist_ok=True)
    files = {
        home.config_path: DEFAULT_CONFIG,
        home.system_prompt_path("assistant"): DEFAULT_PROMPT,
        home.few_shot_path("assistant"): "[]\n",
        home.tool_descriptions_path: DEFAULT_TOOL_DESCRIPTIONS,
    }
    written = []
    for path, text in files.items():
        if path.exists() and not overwrite:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, text.encode())
        written.append(path)
    home.learning_dir.mkdir(exist_ok=True)
    return written


def copy_spec(home: SpecHome, destination: Path) -> SpecHome:
    """Copy the user's spec files (not learning/) to ``destination``.

    Links are followed, so the copy holds what the home's files read as: a link inside
    the home (already checked to stay inside it) would point outside the copy.
    """
    for name in SPEC_PATHS:
        source = home.root / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore_dangling_symlinks=True)
        elif source.exists():
            shutil.copy2(source, destination / name)
    return SpecHome(destination)


def default_home() -> Path:
    """``$SPECDISTILL_HOME`` if set, else ``$OPENJARVIS_HOME`` (an OpenJarvis user's home),
    else the current directory."""
    env = os.environ.get("SPECDISTILL_HOME") or os.environ.get("OPENJARVIS_HOME")
    return Path(env).expanduser() if env else Path.cwd()
