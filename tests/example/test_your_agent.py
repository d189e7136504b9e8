"""docs/your-agent.md, done exactly as it says: from an empty folder to a kept edit through
the real console script, with a ``command`` student written here (standing in for the
user's own agent). Prints the number of commands and the wall time it took."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "your-agent.md"
BIN = Path(sys.executable).parent

#: The user's own agent: protocol 1 on stdin, the answer on stdout. It reads only the
#: spec it is sent, and can compute only when the spec gives it the calculator tool.
MY_AGENT = """\
import json, re, sys

document = json.load(sys.stdin)
assert document["protocol"] == 1
question, spec = document["task"]["input"], document["spec"]
tools = {name for name, _ in spec["tools"]}
if question.startswith("Repeat: "):
    print(question[len("Repeat: "):])
elif (match := re.fullmatch(r"What is (\\d+) \\+ (\\d+) \\* (\\d+)\\?", question)):
    a, b, c = map(int, match.groups())
    print(a + b * c if "calculator" in tools else a + b + c)
else:
    print("no idea")
"""


def doc_steps() -> list[str]:
    """The lines of the page's first bash block (comments kept: they are steps too)."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## From an empty folder to a kept edit", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_from_an_empty_folder_to_a_kept_edit(tmp_path: Path) -> None:
    (tmp_path / "gitconfig").write_text(
        "[user]\n\tname = You\n\temail = you@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    env = {
        "PATH": f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp_path),
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "COLUMNS": "120",
    }
    cwd = tmp_path
    commands, outputs = 0, []
    started = time.perf_counter()
    for step in doc_steps():
        command = step.split("  #", 1)[0].strip()
        if command.startswith("#"):
            assert "replace agent.py with your agent" in command
            (cwd / "agent.py").write_text(MY_AGENT)
            continue
        if command.startswith("mkdir "):
            name = shlex.split(command)[1]
            assert command == f"mkdir {name} && cd {name}"
            cwd = cwd / name
            cwd.mkdir()
            assert not any(cwd.iterdir()), "an empty folder"
            continue
        assert command.startswith("specdistill "), command
        commands += 1
        result = subprocess.run(shlex.split(command), cwd=cwd, env=env, capture_output=True,
                                text=True, timeout=600)  # fmt: skip
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        outputs.append(result.stdout)
    elapsed = time.perf_counter() - started
    print(f"\nfrom an empty folder to a kept edit: {commands} commands, {elapsed:.1f} s")
    assert commands <= 5
    init, bench, run = outputs
    assert "next:" in init and "specdistill run --plan plan.json" in init
    assert "│ arithmetic │   44 │" in bench and "0.000 │" in bench
    assert "1 kept" in run, run
    sessions = list((cwd / "learning" / "sessions").iterdir())
    [session] = [json.loads((s / "session.json").read_text()) for s in sessions]
    [outcome] = session["edit_outcomes"]
    assert (outcome["edit_id"], outcome["status"]) == ("e1-give-calculator", "applied")
    log = subprocess.run(["specdistill", "log", "--json"], cwd=cwd, env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    kinds = [(e["kind"], e["edit_id"]) for e in json.loads(log.stdout)]
    assert kinds[0] == ("edit", "e1-give-calculator") and kinds[-1][0] == "baseline"
    assert '"calculator"' in (cwd / "config.toml").read_text().split("[agent.assistant]")[1]
