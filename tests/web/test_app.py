"""The review page driven in real headless chromium, on the quickstart home, against a
real ``specdistill view`` subprocess: the queue and its diffs, an approval through the
gate (committed: git log), a rejection with a reason, a rollback, the session record;
hostile teacher text shown as text with no script run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from specdistill import LearningPlan, commands
from specdistill.models import Edit, EditOp, EditPillar, EditRiskTier

pytestmark = pytest.mark.slow

WAIT = 60


def by_css(driver: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css)


def all_css(driver: Any, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def wait_for(driver: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    located = expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    return WebDriverWait(driver, WAIT).until(located)


def submit(driver: Any, button: Any, title: str) -> None:
    """Click a form's button and wait for the page it leads to (by its title)."""
    from selenium.webdriver.support.ui import WebDriverWait

    button.click()
    WebDriverWait(driver, WAIT).until(lambda d: d.title.startswith(title + " ·"))


def queued(driver: Any, queue_id: str) -> Any:
    """The queue's card of ``queue_id`` (compared as text: the id may be hostile)."""
    [card] = [
        s for s in all_css(driver, "section.queued") if s.get_attribute("data-queue-id") == queue_id
    ]
    return card


def git_log(home: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "log", "--format=%H%n%B", *args],
        cwd=home,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def outcomes(path: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    record = json.loads(path.read_text())
    return record["status"], {o["edit_id"]: o for o in record["edit_outcomes"]}


def test_approve_through_the_gate_and_reject_with_a_reason(live: Any, browser: Any) -> None:
    sid = live.session_id
    e6, e7 = f"{sid}:e6-concise-prompt", f"{sid}:e7-terse-examples"
    prompt = live.home / "agents/assistant/system_prompt.md"
    before = prompt.read_bytes()
    browser.get(live.url)
    assert browser.current_url == f"{live.origin}/queue"  # the token left the address bar
    ids = [s.get_attribute("data-queue-id") for s in all_css(browser, "section.queued")]
    assert ids == [e6, e7]

    # the queue shows each edit's rationale, evidence and diff against today's spec
    card = queued(browser, e6)
    assert "ask for the bare answer" in card.find_element("css selector", ".rationale").text
    assert "reverse-001" in card.find_element("css selector", "ul.references").text
    added = [s.text for s in card.find_elements("css selector", "pre.diff span.add")]
    removed = [s.text for s in card.find_elements("css selector", "pre.diff span.del")]
    assert any("Be concise: reply with the answer only." in line for line in added)
    assert any("Be warm and helpful." in line for line in removed)
    assert "ready" in card.find_element("css selector", ".badge").text

    # approve: the job page, then the gate's verdict; committed only because it was accepted
    card.find_element("css selector", "button.approve").click()
    result = wait_for(browser, "#result")
    assert result.get_attribute("data-outcome") == "applied", result.text
    commit = by_css(browser, "#commit").text
    assert len(commit) == 10
    assert "ACCEPT" in by_css(browser, "details pre").text  # the gate's own report
    head = git_log(live.home, "-1")  # HEAD is the approval's commit, naming the edit
    assert head.startswith(commit) and "Edit-ID: e6-concise-prompt" in head, head
    assert f"Session-ID: {sid}" in head
    assert commands.log(live.home)[0].edit_id == "e6-concise-prompt"
    assert prompt.read_bytes() != before  # and the prompt changed with it

    # reject the other with a reason
    browser.get(f"{live.origin}/queue")
    assert [s.get_attribute("data-queue-id") for s in all_css(browser, "section.queued")] == [e7]
    card = queued(browser, e7)
    card.find_element("name", "reason").send_keys("the prompt fix covers it")
    submit(browser, card.find_element("css selector", "button.reject"), "Rejected")
    assert "rejected_by_user: the prompt fix covers it" in by_css(browser, "main").text
    browser.get(f"{live.origin}/queue")
    assert "Nothing waits for review." in by_css(browser, "main").text

    status, by_id = outcomes(live.session_json)
    assert status == "completed"
    assert by_id["e6-concise-prompt"]["status"] == "applied"
    assert by_id["e7-terse-examples"]["status"] == "rejected_by_user"
    assert by_id["e7-terse-examples"]["error"] == "the prompt fix covers it"

    # the job's status endpoint reported the gate's runs as they went
    browser.get(f"{live.origin}/sessions/{sid}")
    page = by_css(browser, "main").text
    assert "e6-concise-prompt" in page and "rejected_by_user" in page
    assert any("Be concise" in s.text for s in all_css(browser, "pre.diff span.add"))


def test_sessions_filter_session_page_log_and_rollback(live: Any, browser: Any) -> None:
    sid = live.session_id
    browser.get(live.url)
    browser.get(f"{live.origin}/sessions?status=awaiting_review")
    assert [a.text for a in all_css(browser, "table.sessions td.id a")] == [sid]
    browser.get(f"{live.origin}/sessions?status=completed")
    assert all_css(browser, "table.sessions") == []
    assert "No sessions with status completed" in by_css(browser, "main").text

    browser.get(f"{live.origin}/sessions/{sid}")
    main = by_css(browser, "main").text
    for edit_id in ("e1-calculator-exact", "e3-warmer", "e6-concise-prompt", "e8-lora"):
        assert edit_id in main
    assert all_css(browser, "svg[role=img]")  # the report's per-cluster chart
    kept = [s.text for s in all_css(browser, "section.edit pre.diff span.add")]
    assert any("big-model" in line for line in kept)  # e2's committed routing change

    browser.get(f"{live.origin}/log")
    assert len(all_css(browser, "table tr.edit")) == 2  # e1 and e2 were committed

    browser.get(f"{live.origin}/sessions/{sid}")
    submit(browser, by_css(browser, "button.danger"), "Rolled back")
    text = by_css(browser, "main").text
    assert f"session {sid} is rolled back" in text
    assert "reverted 2 edit commit(s)" in text
    assert json.loads(live.session_json.read_text())["status"] == "rolled_back"
    kinds = [e.kind for e in commands.log(live.home)]
    assert kinds[:2] == ["revert", "revert"]


HOSTILE_ID = '<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">'
HOSTILE_RATIONALE = '"><img src=x onerror="window.__pwned=3"><script>window.__pwned=4</script>'
HOSTILE_PROMPT = "</pre><script>window.__pwned=5</script>\n"


def test_hostile_teacher_text_is_shown_as_text(live: Any, browser: Any) -> None:
    edit = Edit(
        id=HOSTILE_ID,
        pillar=EditPillar.AGENT,
        op=EditOp.REPLACE_SYSTEM_PROMPT,
        target="agents.assistant.system_prompt",
        payload={"new_content": HOSTILE_PROMPT},
        risk_tier=EditRiskTier.REVIEW,
        rationale=HOSTILE_RATIONALE,
        references=["<b>ref</b>"],
        expected_improvement="formatting",
    )
    run = commands.run_session(live.home, plan=LearningPlan(edits=[edit]))
    qid = f"{run.session.id}:{HOSTILE_ID}"
    browser.get(live.url)
    card = queued(browser, qid)
    assert card.find_element("css selector", "h3 code").text == qid
    assert card.find_element("css selector", ".rationale").text == HOSTILE_RATIONALE
    assert card.find_element("css selector", "ul.references").text == "<b>ref</b>"
    added = [s.text for s in card.find_elements("css selector", "pre.diff span.add")]
    assert "+</pre><script>window.__pwned=5</script>" in added
    for path in ("/queue", f"/sessions/{run.session.id}"):
        browser.get(live.origin + path)
        assert browser.execute_script("return window.__pwned === undefined")
        assert all_css(browser, "main img") == [] and all_css(browser, "main script") == []
    assert HOSTILE_ID in by_css(browser, "main").text

    # rejecting it by its hostile id works, and the id comes back as text
    browser.get(f"{live.origin}/queue")
    card = queued(browser, qid)
    card.find_element("name", "reason").send_keys("<i>no</i>")
    submit(browser, card.find_element("css selector", "button.reject"), "Rejected")
    assert f"{qid} is recorded as rejected_by_user: <i>no</i>" in by_css(browser, "main").text
    assert browser.execute_script("return window.__pwned === undefined")
