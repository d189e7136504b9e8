"""report.html as a reader sees it: the quickstart's report rendered by a real headless
chromium (Debian's, through its chromedriver; skipped, saying why, when absent).

What a reader must see: the summary line first, a diff for every edit that changes the
spec, the gate's estimate on every cluster for every gated edit (a harmful edit's drop
visible), the tasks that flipped, the review queue with diffs; and no script runs, not
even one that escaping missed (the Content-Security-Policy blocks it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checkpoint_helpers import isolate_git
from specdistill.example.quickstart import run_quickstart
from specdistill.models import LearningPlan
from specdistill.sessions.report import REPORT_HTML, write_reports
from specdistill.sessions.store import SessionStore

#: A rationale that runs code if it ever reaches the page as markup.
HOSTILE = "<script>document.title = 'pwned'; window.pwned = 1;</script><img src=x onerror=alert(1)>"


@pytest.fixture
def quickstart_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Any]:
    """The quickstart's session, its report rewritten with a hostile rationale on e1."""
    isolate_git(monkeypatch, tmp_path)
    result = run_quickstart(tmp_path / "demo", notify=None)
    store = SessionStore(result.home)
    plan = store.load_plan(result.session.id)
    edits = [
        e.model_copy(update={"rationale": HOSTILE}) if e.id == "e1-calculator-exact" else e
        for e in plan.edits
    ]
    write_reports(store, result.session, LearningPlan(**{**plan.__dict__, "edits": edits}))
    return store.session_dir(result.session.id) / REPORT_HTML, result.session


def test_a_reader_sees_the_summary_a_diff_per_edit_and_a_chart_per_cluster(
    browser: Any, quickstart_report: tuple[Path, Any]
) -> None:
    from selenium.webdriver.common.by import By

    path, session = quickstart_report
    browser.get(path.as_uri())
    # The summary comes first, right under the title, and says what happened.
    first = browser.find_element(By.CSS_SELECTOR, "h1 + p.summary")
    summary = first.text
    assert summary.startswith("2 kept, 3 rejected, 2 waiting for review, 1 skipped; overall")
    assert "0.388 → 0.750 (+0.362, 95% CI +" in summary
    assert first.location["y"] < browser.find_element(By.TAG_NAME, "dl").location["y"]

    sections = browser.find_elements(By.CSS_SELECTOR, "section.edit")
    assert len(sections) == len(session.edit_outcomes) == 8
    clusters = set(session.benchmark_before.cluster_scores)
    seen = {}
    for section in sections:
        title = section.find_element(By.TAG_NAME, "h3").text
        edit_id = title.split(":")[0]
        diffs = section.find_elements(By.CSS_SELECTOR, "pre.diff")
        charts = section.find_elements(By.CSS_SELECTOR, "svg.estimates")
        seen[edit_id] = (title, diffs, charts)
        if edit_id == "e8-lora":  # never applied, changes no spec file
            assert not diffs
            continue
        # a diff per edit, with its files and its added and removed lines, shown
        assert len(diffs) == 1 and diffs[0].is_displayed(), edit_id
        assert diffs[0].find_elements(By.CSS_SELECTOR, "span.file")
        assert diffs[0].find_elements(By.CSS_SELECTOR, "span.add"), edit_id
        if edit_id in ("e6-concise-prompt", "e7-terse-examples"):  # queued, not gated
            assert not charts and "waiting for your review" in title
            continue
        # a chart per gated edit with a row for every cluster, and the others pooled
        [chart] = charts
        assert chart.is_displayed() and chart.size["height"] > 50
        rows = chart.find_elements(By.CSS_SELECTOR, "g.cluster")
        names = {row.get_attribute("data-cluster") for row in rows}
        assert clusters <= names, (edit_id, names)
    # Harm shows: the rejected e4 drops 'arithmetic' (a red bar), the kept e1 only rises.
    e4 = seen["e4-drop-calculator"][2][0]
    arithmetic = e4.find_element(By.CSS_SELECTOR, "g.cluster[data-cluster='arithmetic']")
    assert arithmetic.find_elements(By.CSS_SELECTOR, "rect.down")
    assert "rejected by the gate" in seen["e4-drop-calculator"][0]
    e1 = seen["e1-calculator-exact"][2][0]
    assert e1.find_elements(By.CSS_SELECTOR, "rect.up")
    assert not e1.find_elements(By.CSS_SELECTOR, "rect.down")
    # Tasks that flipped, with the question and both answers.
    flips = browser.find_elements(By.CSS_SELECTOR, "table.flips")
    assert flips and "What is" in flips[0].text and "The answer is" in flips[0].text
    # The review queue lists the queued edits, each with its diff.
    queue = browser.find_element(By.XPATH, "//h2[.='Review queue']/following-sibling::ul[1]")
    items = queue.find_elements(By.TAG_NAME, "li")
    assert len(items) == 2
    assert all(item.find_elements(By.CSS_SELECTOR, "pre.diff span.add") for item in items)
    # The hostile rationale is shown as text and ran nothing.
    assert HOSTILE in browser.find_element(By.TAG_NAME, "body").text
    assert browser.title == f"specdistill session {session.id}"
    assert browser.execute_script("return window.pwned === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, "img")


def test_a_script_that_escaping_missed_does_not_run(
    browser: Any, quickstart_report: tuple[Path, Any], tmp_path: Path
) -> None:
    """The CSP is the second line of defence: an inline script and an inline handler
    planted into the file (as an escaping bug would) are blocked by the browser."""
    path, session = quickstart_report
    planted = tmp_path / "planted.html"
    html = path.read_text()
    assert "Content-Security-Policy" in html
    planted.write_text(
        html.replace(
            "</body>",
            "<script>document.title='ran'; window.ran = 1;</script>"
            '<img src=data:, onerror="window.ran = 2"></body>',
        )
    )
    browser.get(planted.as_uri())
    assert browser.title == f"specdistill session {session.id}"
    assert browser.execute_script("return window.ran === undefined")
    logs = json.dumps(browser.get_log("browser"))
    assert "Content Security Policy" in logs
