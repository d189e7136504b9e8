"""One plain function per ``specdistill`` command: the library API the CLI calls.

In the style of alembic's ``command.py``: each function takes the spec home (a path,
``None`` for :func:`~specdistill.home.default_home`) and keyword options, does the whole
command and returns a typed result; it never prints. The CLI (:mod:`specdistill.cli`)
only parses arguments, calls one of these and renders what it returns, so a script or
the review page can do anything the terminal can, under the same locks.

=====================  ======================================  ==========================
command                function                                result
=====================  ======================================  ==========================
``init``               :func:`init`                            :class:`InitResult`
``schema``             :func:`plan_json_schema`                ``dict`` (a JSON Schema)
``schema --student``   :func:`student_json_schema`             ``dict`` (a JSON Schema)
``apply``              :func:`apply_plan`                      :class:`ApplyReport`
``rollback``           :func:`rollback`                        :class:`RollbackReport`
``recover``            :func:`recover`                         ``list[str]`` (notes)
``log``                :func:`log`                             ``list[LogEntry]``
``run``                :func:`run_session`                     :class:`SessionRun`
``loop``               :func:`loop`                            :class:`LoopResult`
``quickstart``         :func:`quickstart`                      :class:`SessionRun`
``review``             :func:`review`                          ``list[EditPreview]``
``review show``        :func:`review_show`                     :class:`EditPreview`
``approve``            :func:`approve`                         :class:`Resolution`
``reject``             :func:`reject`                          :class:`Resolution`
``history``            :func:`history`                         :class:`History`
``show``               :func:`show`                            :class:`SessionView`
``doctor``             :func:`doctor`                          :class:`DoctorReport`
``benchmark run``      :func:`bench_run`                       :class:`BenchRun`
``cache stats|clear``  :func:`cache_stats`, :func:`cache_clear` ``CacheStats``, ``int|None``
``benchmark build``    :func:`benchmark_build`                 :class:`BuildReport`
``benchmark check``    :func:`benchmark_check`                 :class:`BenchmarkSizing`
``traces check``       :func:`traces_check`                    :class:`Readiness`
=====================  ======================================  ==========================

The gate, the evaluation and the teacher are imported inside the functions that use
them: importing this module costs the models, not an HTTP client.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from specdistill.apply import (
    ApplyReport,
    opened_gate,
    require_spec_home,
    screen_against,
)
from specdistill.apply import apply_plan as _apply_plan
from specdistill.checkpoint import CheckpointStore, LogEntry, RollbackReport, init_checkpoints
from specdistill.errors import CheckpointError, InvalidInput, SpecdistillError
from specdistill.gate.config import GateMode
from specdistill.home import SpecHome, default_home
from specdistill.models import AutonomyMode, Edit, LearningPlan, LearningSession
from specdistill.plan import load_plan, plan_json_schema
from specdistill.sessions.store import SESSION_FILE, CorruptSessionData, SessionStore

if TYPE_CHECKING:
    from specdistill.checkpoint.run import Notify
    from specdistill.evaluation.cache import CacheStats
    from specdistill.evaluation.command import BenchRun
    from specdistill.evaluation.runner import ProgressCallback
    from specdistill.gate.driver import GateProgress
    from specdistill.gate.settings import BenchmarkSizing
    from specdistill.sessions.doctor import DoctorReport
    from specdistill.sessions.loop import LoopResult
    from specdistill.sessions.report_facts import SessionFacts
    from specdistill.sessions.review import EditPreview, Resolution
    from specdistill.sessions.run import Progress
    from specdistill.teacher.mine import BuildReport
    from specdistill.teacher.traces import Readiness

logger = logging.getLogger(__name__)

Home = str | os.PathLike[str] | None
F = TypeVar("F", bound=Callable[..., Any])
PathArg = str | os.PathLike[str]


def _root(home: Home = None) -> Path:
    """The spec home a command works on: ``home``, else ``$SPECDISTILL_HOME``, else the
    current directory; ``~`` expanded, made absolute."""
    return SpecHome(home if home is not None else default_home()).root


def _spec_root(home: Home) -> Path:
    """:func:`_root`, refusing a directory that is not a spec home."""
    root = _root(home)
    require_spec_home(SpecHome(root))
    return root


@contextmanager
def _open_home(
    home: Home,
    *,
    writes: bool = False,
    reads_spec: bool = False,
    operation: str | None = None,
    spec_home_required: bool = True,
) -> Iterator[Path]:
    """The one entry every command that reads or writes a home goes through.

    SQLite's hot-journal rule: an interrupted write (a crash journal, or the marker of
    a multi-step operation whose process is gone) is repaired first, under the lock, so
    no command acts on a half-applied spec or on records that disagree with git. If the
    lock is held by a live process, a writer fails at once (LockHeld); a reader of the
    spec's files (``reads_spec``) says so in one line while an edit is half-written; a
    reader of records only goes on (they are written whole).

    ``writes``: first check what the command needs before its first commit (state
    directories inside the home and writable, the index usable). ``operation``: mark the
    command as a multi-step operation (:func:`specdistill.sessions.consistency.operation`)
    for its whole duration.
    """
    from specdistill.sessions.consistency import operation as marked

    root = _spec_root(home) if spec_home_required else _root(home)
    spec_home = SpecHome(root)
    notes = _recover_first(spec_home, writes=writes, reads_spec=reads_spec)
    for note in notes:
        logger.warning("%s", note)
    if writes:
        _preflight(spec_home)
    if operation is None:
        yield root
        return
    with marked(spec_home, operation):
        yield root


def _opens_home(
    *,
    writes: bool = False,
    reads_spec: bool = False,
    operation: str | None = None,
    spec_home_required: bool = True,
) -> Callable[[F], F]:
    """Run the decorated command (whose first parameter is ``home``) inside
    :func:`_open_home` with these options; its signature is kept as it is."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def opened(*args: Any, **kwargs: Any) -> Any:
            home = args[0] if args else kwargs.get("home")
            with _open_home(
                home,
                writes=writes,
                reads_spec=reads_spec,
                operation=operation,
                spec_home_required=spec_home_required,
            ):
                return command(*args, **kwargs)

        return opened  # type: ignore[return-value]

    return decorate


def _recover_first(spec_home: SpecHome, *, writes: bool, reads_spec: bool) -> list[str]:
    from specdistill.checkpoint.journal import Journal
    from specdistill.checkpoint.lock import HomeLock
    from specdistill.errors import LockHeld
    from specdistill.sessions.consistency import repair_if_needed, stale_markers

    if not spec_home.learning_dir.is_dir():
        return []
    half_written = Journal(spec_home).pending()
    if not half_written and not stale_markers(spec_home):
        return []
    try:
        with HomeLock(spec_home.learning_dir, "specdistill recover") as lock:
            notes = []
            if lock.took_over is not None:
                notes.append(f"took over a stale lock of {lock.took_over.describe()}")
            return notes + repair_if_needed(spec_home)
    except LockHeld as exc:
        if writes:
            raise
        if reads_spec and half_written:
            raise CheckpointError(
                f"{exc.holder} is changing the spec right now; nothing was read",
                hint="run this again when that command has finished",
            ) from None
        return []


def _preflight(spec_home: SpecHome) -> None:
    """What a writing command needs, checked before it changes anything: the state
    directories resolve inside the home (no link out) and are writable, the index is
    ours and readable."""
    from specdistill.checkpoint.journal import Journal
    from specdistill.evaluation.cache import cache_path
    from specdistill.fsio import atomic_write_bytes

    store = SessionStore(spec_home)  # UnsafePath if learning/sessions links out
    journal = Journal(spec_home)
    cache_path(spec_home)
    for directory in (spec_home.learning_dir, store.sessions_dir, journal.directory):
        if not directory.is_dir():
            continue
        probe = directory / f".probe.{os.getpid()}.tmp"
        try:
            atomic_write_bytes(probe, b"")
            probe.unlink()
        except OSError as exc:
            raise CheckpointError(
                f"{directory} is not writable ({exc.strerror or exc}); nothing was changed",
                hint="fix its permissions or free disk space, then run again",
            ) from None
    store.check_index()


# -- init / log / recover / rollback -----------------------------------------------------


@dataclass(frozen=True)
class InitResult:
    """What ``init`` did: the home, the files it created, what the checkpoint setup did,
    the student kind it configured, and the files it left alone because they existed."""

    home: Path
    created: list[Path]
    notes: list[str]
    student: str = "command"
    kept: list[Path] = field(default_factory=list)


def init(home: Home = None, *, student: str = "command") -> InitResult:
    """Scaffold a working home for your agent (see :mod:`specdistill.example.scaffold`:
    config with a ``student`` block for each kind, ``student`` active, an example agent,
    a benchmark skeleton sized for the gate, a plan template) and commit the spec as the
    git baseline. Existing files are left alone."""
    from specdistill.example.scaffold import STUDENT_KINDS, scaffold_home

    if student not in STUDENT_KINDS:
        raise InvalidInput(
            f"student kind {student!r} is unknown (use one of: {', '.join(STUDENT_KINDS)})"
        )
    root = _root(home)
    made = scaffold_home(root, student)
    return InitResult(root, made.created, init_checkpoints(root), student, made.kept)


def apply_plan(
    plan: LearningPlan | str | os.PathLike[str], home: Home = None, **options: Any
) -> ApplyReport:
    """Execute ``plan`` on ``home`` after the home's recovery (see :func:`_open_home`);
    ``options`` as :func:`specdistill.apply.apply_plan` takes them. A gate with no
    benchmark on an OpenJarvis home gets one built (:func:`_gate_benchmark`); an
    OpenJarvis failure-cluster id in an edit is resolved through the home's traces."""
    from specdistill.sessions.home_traces import home_trace_classes

    with _open_home(home, writes=not options.get("dry_run", False)) as root:
        if not isinstance(plan, LearningPlan):
            plan = load_plan(Path(plan))  # a bad plan is refused before anything is built
        options.setdefault("traces", home_trace_classes(SpecHome(root)))
        with _gate_benchmark(root, options) as gated:
            return _apply_plan(plan, home, **gated)


@contextmanager
def _gate_benchmark(root: Path, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``options``, with a benchmark for the gate when it has none: with a gate mode on,
    no ``benchmark`` given and no file at the home's benchmark path
    (``[specdistill.benchmark] path``, else ``benchmark.jsonl``), the home's OpenJarvis
    traces database is mined into that path as ``benchmark build`` does (into a scratch
    file on a dry run), and ``notify`` is told in one line; if the apply then fails (a
    plan the benchmark refuses), the file is removed again. Otherwise unchanged."""
    gate = options.get("gate")
    if not isinstance(gate, str) or gate == GateMode.off or options.get("benchmark") is not None:
        yield options
        return
    from specdistill.evaluation.settings import benchmark_path
    from specdistill.sessions.home_traces import openjarvis_traces

    spec_home = SpecHome(root)
    target = benchmark_path(spec_home)
    database = openjarvis_traces(spec_home)
    if database is None or target.exists():
        yield options
        return
    import tempfile

    from specdistill.teacher.mine import build_benchmark_file

    with tempfile.TemporaryDirectory(prefix="specdistill-benchmark-") as scratch:
        out = Path(scratch) / target.name if options.get("dry_run") else target
        report = build_benchmark_file(database, home=root, out=out)
        notify: Notify | None = options.get("notify")
        if notify is not None:
            kept = " (dry run: not kept)" if out != target else ""
            notify(
                f"no benchmark: built {out} ({len(report.build.benchmark)} tasks) from the "
                f"OpenJarvis traces database {database}{kept}"
            )
        try:
            yield options | {"benchmark": out}
        except BaseException:
            out.unlink(missing_ok=True)
            raise


def student_json_schema() -> dict[str, Any]:
    """The JSON Schema of what a ``command`` student reads on stdin (``schema --student``)."""
    from specdistill.evaluation.protocol import student_input_schema

    return student_input_schema()


def log(home: Home = None, *, limit: int | None = None) -> list[LogEntry]:
    """The spec changes specdistill committed, newest first (at most ``limit``)."""
    with _open_home(home) as root:
        return CheckpointStore(root).log(limit)


def commit_diff(home: Home = None, *, commit: str) -> str:
    """The change one of specdistill's commits made to the spec, as a unified diff
    (``commit`` as ``log`` lists it; another commit is refused)."""
    store = CheckpointStore(_spec_root(home))
    if commit not in {entry.commit for entry in store.log()}:
        raise InvalidInput(
            f"{commit!r} is not a commit specdistill wrote", hint="see: specdistill log"
        )
    args = ("show", "--format=", "--no-color", "--no-ext-diff", "--no-renames", commit)
    diff = store.git.run(*args, "--", *store.spec_pathspecs()).stdout
    return diff.decode("utf-8", errors="replace")


def recover(home: Home = None) -> list[str]:
    """Finish or undo an operation a crash interrupted, and make git, every session.json
    and the index agree; return what was done (empty: nothing)."""
    from specdistill.checkpoint.lock import HomeLock
    from specdistill.sessions.consistency import check, repair_if_needed

    spec_home = SpecHome(_spec_root(home))
    with HomeLock(spec_home.learning_dir, "specdistill recover") as lock:
        notes = []
        if lock.took_over is not None:
            notes.append(f"took over a stale lock of {lock.took_over.describe()}")
        notes += repair_if_needed(spec_home)
        for finding in check(spec_home, repair=True):
            notes.append(f"recovered: session {finding.session_id}: {finding.detail}")
        return notes


def rollback(
    home: Home = None,
    session_id: str | None = None,
    *,
    last: bool = False,
    allow_dirty: bool = False,
    notify: Notify | None = None,
) -> RollbackReport:
    """Revert a session's edit commits (``session_id``, or the newest with ``last``), newest
    first, as new commits, and mark a recorded session and its outcomes ``rolled_back``.

    Unlike :func:`~specdistill.rollback_session` (the git side alone), this also updates
    the session record, so ``history`` and ``show`` agree with ``log``.
    """
    if last == (session_id is not None):  # exactly one of them
        raise InvalidInput("give either a SESSION_ID or --last", hint="see: specdistill log")
    from specdistill.sessions.rollback import rollback_learning_session

    with _open_home(home, writes=True, operation="rollback") as root:
        return rollback_learning_session(
            root, session_id, last=last, allow_dirty=allow_dirty, notify=notify
        )


# -- run / loop / quickstart ---------------------------------------------------------------


@dataclass(frozen=True)
class SessionRun:
    """A session that ran, with what rendering it needs: the frozen plan's edits as they
    were routed, and where its report is.

    ``plan_error`` is set (and ``plan`` empty) when the frozen plan could not be read.
    """

    home: Path
    session: LearningSession
    plan: LearningPlan
    edits: dict[str, Edit]
    report: Path | None = None
    notes: list[str] = field(default_factory=list)
    plan_error: SpecdistillError | None = None
    #: The report's facts (the numbers ``run`` shows are the reports' numbers).
    facts: SessionFacts | None = None

    @property
    def interrupted_by(self) -> int | None:
        """The signal that stopped the session early (SIGINT, SIGTERM), or None."""
        from specdistill.sessions.run import interrupted_by

        return interrupted_by(self.session)


def _session_run(
    root: Path, session: LearningSession, notes: list[str] | None = None
) -> SessionRun:
    from specdistill.sessions.report import REPORT_MD
    from specdistill.sessions.routing import routed_edits

    store = SessionStore(root)
    report = store.session_dir(session.id) / REPORT_MD
    found = report if report.exists() else None
    try:
        plan = store.load_plan(session.id)
    except CorruptSessionData as exc:
        return SessionRun(root, session, LearningPlan(), {}, found, notes or [], exc)
    edits = routed_edits(plan, store, session.id)  # the tiers recorded as it ran
    from specdistill.sessions.report_facts import load_facts

    facts = load_facts(store, session)
    return SessionRun(root, session, plan, edits, found, notes or [], facts=facts)


@_opens_home(writes=True, operation="run")
def run_session(
    home: Home = None,
    *,
    plan: LearningPlan | PathArg | None = None,
    traces: PathArg | None = None,
    rounds: int | None = None,
    mode: AutonomyMode | str = AutonomyMode.TIERED,
    gate: GateMode | str = GateMode.sequential,
    benchmark: PathArg | None = None,
    allow_dirty: bool = False,
    progress: Progress | None = None,
    notify: Notify | None = None,
) -> SessionRun:
    """Run a session: a ready ``plan`` (a plan or its file), or else diagnose and plan with
    the teacher from ``traces`` (``rounds``: hill-climb, one gated edit per round), then
    apply the edits through the gate and record.

    See :func:`specdistill.sessions.run.run_session` and
    :func:`specdistill.sessions.teach.teach_session`.
    """
    root = _root(home)
    if plan is not None and (traces is not None or rounds is not None):
        raise InvalidInput(
            "--plan runs a ready plan; --traces and --rounds ask the teacher: use one or the other"
        )
    if plan is not None:
        from specdistill.sessions.run import run_session as run_plan

        ready = plan if isinstance(plan, LearningPlan) else load_plan(Path(plan))
        session = run_plan(
            root, ready, mode=mode, gate_mode=gate, benchmark=benchmark,
            allow_dirty=allow_dirty, progress=progress, notify=notify,
        )  # fmt: skip
    else:
        from specdistill.sessions.teach import teach_session

        session = teach_session(
            root, traces=traces, rounds=rounds, mode=mode, gate_mode=gate,
            benchmark=benchmark, allow_dirty=allow_dirty, progress=progress, notify=notify,
        )  # fmt: skip
    return _session_run(root, session)


@_opens_home(writes=True, operation="loop")
def loop(
    home: Home = None,
    *,
    traces: PathArg | None = None,
    max_sessions: int = 5,
    stagnation: int = 2,
    min_gain: float = 0.01,
    budget_usd: float | None = None,
    rounds: int | None = None,
    mode: AutonomyMode | str = AutonomyMode.TIERED,
    gate: GateMode | str = GateMode.sequential,
    benchmark: PathArg | None = None,
    allow_dirty: bool = False,
    progress: Progress | None = None,
    notify: Notify | None = None,
    on_session: Callable[[LearningSession], None] | None = None,
) -> LoopResult:
    """Run teacher sessions until the gate score stagnates, the total budget is spent or
    ``max_sessions`` ran; ``on_session`` sees each session as it ends.

    See :func:`specdistill.sessions.loop.run_loop`.
    """
    from specdistill.sessions.loop import run_loop

    return run_loop(
        _root(home), traces=traces, max_sessions=max_sessions, stagnation=stagnation,
        min_gain=min_gain, budget_usd=budget_usd, rounds=rounds, mode=mode,
        gate_mode=gate, benchmark=benchmark, allow_dirty=allow_dirty,
        progress=progress, notify=notify, on_session=on_session,
    )  # fmt: skip


def quickstart(
    directory: PathArg | None = None,
    *,
    progress: Progress | None = None,
    notify: Notify | None = None,
) -> SessionRun:
    """Create the example spec home in ``directory`` (default: a new temporary one) and run
    a full gated session on it, offline. ``notes`` says what setting it up did."""
    from specdistill.example.quickstart import run_quickstart

    result = run_quickstart(directory, progress=progress, notify=notify)
    return _session_run(result.home, result.session, result.notes)


# -- review / approve / reject ---------------------------------------------------------------


@_opens_home(reads_spec=True)
def review(home: Home = None) -> list[EditPreview]:
    """The edits waiting for review, each re-checked against the current spec."""
    from specdistill.sessions.review import review_queue

    return review_queue(_spec_root(home))


@_opens_home(reads_spec=True)
def review_show(home: Home = None, *, queue_id: str) -> EditPreview:
    """One queued edit (``<session_id>:<edit_id>``) with its diff against the current spec."""
    from specdistill.sessions.review import show_queued

    return show_queued(_spec_root(home), queue_id)


@_opens_home(writes=True, operation="approve")
def approve(
    home: Home = None,
    *,
    queue_id: str,
    gate: GateMode | str = GateMode.sequential,
    benchmark: PathArg | None = None,
    allow_dirty: bool = False,
    notify: Notify | None = None,
    gate_progress: GateProgress | None = None,
) -> Resolution:
    """Try a queued edit through the gate, as part of its session: kept (committed) only
    if the benchmark shows it helps. ``gate_progress`` sees the gate's task runs.

    See :func:`specdistill.sessions.review.approve`.
    """
    from specdistill.sessions.home_traces import home_trace_classes
    from specdistill.sessions.review import approve as approve_queued
    from specdistill.sessions.review import check_approvable
    from specdistill.sessions.store import SessionStore

    root = _spec_root(home)
    screened = None
    if gate != GateMode.off:
        item = check_approvable(root, queue_id)  # fail fast, before a student is built
        # The session's failure clusters, for an OpenJarvis plan's cluster-id targets.
        clusters = SessionStore(root).load_plan(item.session_id).failure_clusters
    with opened_gate(root, gate, benchmark, gate_progress) as edit_gate:
        if gate != GateMode.off:  # the plan screen, against the benchmark and the student
            plan = LearningPlan(edits=[item.edit], failure_clusters=clusters)
            traces = home_trace_classes(SpecHome(root))
            [screened] = screen_against(
                plan, root, edit_gate, AutonomyMode.AUTO, traces=traces
            ).edits
        return approve_queued(
            root,
            queue_id,
            gate_mode=str(gate),
            benchmark=benchmark,
            allow_dirty=allow_dirty,
            gate=edit_gate,
            notify=notify,
            screened=screened,
        )


@_opens_home(writes=True, operation="reject")
def reject(home: Home = None, *, queue_id: str, reason: str) -> Resolution:
    """Record a queued edit as ``rejected_by_user`` with ``reason`` (the spec is untouched)."""
    from specdistill.sessions.review import reject as reject_queued

    return reject_queued(_spec_root(home), queue_id, reason)


# -- history / show / doctor -------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One row of the session index, with its record, or the error reading it."""

    id: str
    status: str
    session: LearningSession | None = None
    error: SpecdistillError | None = None


@dataclass(frozen=True)
class History:
    """The sessions, newest first; a record that could not be read has ``error`` set."""

    entries: list[HistoryEntry]

    @property
    def sessions(self) -> list[LearningSession]:
        return [e.session for e in self.entries if e.session is not None]

    @property
    def unreadable(self) -> list[SpecdistillError]:
        return [e.error for e in self.entries if e.error is not None]


@_opens_home()
def history(home: Home = None, *, limit: int | None = None) -> History:
    """The learning sessions, newest first (at most ``limit``).

    An empty index over session files on disk raises :class:`CorruptSessionData` (with
    the ``doctor --reindex`` hint); an unreadable record is an entry with its error.
    """
    store = SessionStore(_spec_root(home))
    rows = store.list(limit)
    if not rows and store.session_ids_on_disk():
        raise CorruptSessionData(
            f"the session index is empty, but {len(store.session_ids_on_disk())} session(s) "
            "are on disk",
            hint="run 'specdistill doctor --reindex' to rebuild it from the session files",
        )
    entries = []
    for row in rows:
        try:
            entries.append(HistoryEntry(row.id, row.status, session=store.load(row.id)))
        except SpecdistillError as exc:
            entries.append(HistoryEntry(row.id, row.status, error=exc))
    return History(entries)


@dataclass(frozen=True)
class SessionView:
    """One session as ``show`` presents it: the record as stored (``record``, the text of
    session.json), its facts joined with the frozen plan, its commits and its report.

    ``plan_error`` says why the plan could not be read (ops and tiers are then unknown).
    """

    home: Path
    session: LearningSession
    record: str
    facts: SessionFacts
    plan_error: SpecdistillError | None = None
    commits: list[LogEntry] = field(default_factory=list)
    report: Path | None = None


@_opens_home()
def show(home: Home = None, *, session_id: str) -> SessionView:
    """One session: outcomes, deltas, reasons, checkpoints and cost."""
    from specdistill.errors import RuntimeFailure
    from specdistill.sessions.report import REPORT_HTML
    from specdistill.sessions.report_facts import load_evidence, session_facts
    from specdistill.sessions.routing import load_routing

    root = _spec_root(home)
    store = SessionStore(root)
    session = store.load(session_id)  # validates; raises a clear error if missing/corrupt
    record = (store.session_dir(session_id) / SESSION_FILE).read_text(encoding="utf-8")
    plan_error: SpecdistillError | None = None
    try:
        plan = store.load_plan(session_id)
    except RuntimeFailure as exc:
        plan, plan_error = LearningPlan(), exc
    evidence, note = load_evidence(store, session.id)  # the reports' diffs and estimates
    facts = session_facts(session, plan, load_routing(store, session, plan), evidence=evidence)
    facts = dataclasses.replace(facts, evidence_note=note)
    try:  # the session's commits in the spec's history (its run's and its approvals')
        commits = [e for e in CheckpointStore(root).log() if e.session_id == session.id]
    except SpecdistillError:
        commits = []
    report = store.session_dir(session.id) / REPORT_HTML
    return SessionView(
        root, session, record, facts, plan_error, commits, report if report.exists() else None
    )


def doctor(home: Home = None, *, reindex: bool = False) -> DoctorReport:
    """Check the home's own state (config, repository, index, sessions, lock, journal,
    and that git, every session.json and the index agree);
    ``reindex`` rebuilds learning/learning.db from the session files first."""
    from specdistill.sessions.doctor import diagnose

    return diagnose(_spec_root(home), reindex=reindex)


# -- bench / cache -----------------------------------------------------------------------------


@_opens_home(reads_spec=True, spec_home_required=False)
def bench_run(
    home: Home = None,
    *,
    benchmark: PathArg | None = None,
    concurrency: int | None = None,
    repeats: int = 1,
    use_cache: bool = True,
    progress: ProgressCallback | None = None,
) -> BenchRun:
    """Score the spec with the student its config describes; ``snapshot`` is None when no
    task was scored. See :func:`specdistill.evaluation.command.bench_run`."""
    from specdistill.evaluation.command import bench_run as score

    return score(
        _root(home), benchmark, concurrency=concurrency, repeats=repeats,
        use_cache=use_cache, progress=progress,
    )  # fmt: skip


def cache_stats(home: Home = None) -> CacheStats:
    """How many results the home's result cache holds."""
    from specdistill.evaluation.cache import cache_stats as stats

    return stats(_root(home))


def cache_clear(home: Home = None) -> int | None:
    """Delete the result cache; the number of results removed (None: the file was corrupt)."""
    from specdistill.evaluation.cache import cache_clear as clear

    return clear(_root(home))


# -- benchmark / traces ------------------------------------------------------------------------


def _given_traces(root: Path, traces: PathArg | None, notify: Notify | None) -> PathArg:
    """``traces``, else the ones ``run`` reads without ``--traces``
    (:func:`specdistill.sessions.home_traces.default_traces`: the configured path, else the
    home's OpenJarvis traces database, said through ``notify``); refused when neither."""
    if traces is not None:
        return traces
    from specdistill.sessions.home_traces import default_traces

    found = default_traces(SpecHome(root), notify)
    if found is None:
        raise InvalidInput(
            f"Missing option '--traces' ({root} has no [specdistill.traces] path and no "
            "OpenJarvis traces.db)",
            hint="pass --traces FILE: a JSONL file or an OpenJarvis traces.db",
        )
    return found


def benchmark_build(
    home: Home = None,
    *,
    traces: PathArg | None = None,
    out: PathArg | None = None,
    teacher_references: bool = False,
    notify: Notify | None = None,
) -> BuildReport:
    """Mine high-feedback traces into a benchmark file (deduplicated, clustered by query
    class); ``out`` defaults to the home's benchmark path. Without ``traces``, those
    ``run`` would read (see :func:`_given_traces`)."""
    from specdistill.teacher.mine import build_benchmark_file

    root = _root(home)
    given = _given_traces(root, traces, notify)
    return build_benchmark_file(given, home=root, out=out, teacher=teacher_references)


def benchmark_check(home: Home = None, *, benchmark: PathArg | None = None) -> BenchmarkSizing:
    """Hold the benchmark (``benchmark``, else the home's) against the gate's settings: per
    cluster, the fewest tasks that can prove an improvement and rule out a regression,
    against how many it has. Runs no student."""
    from specdistill.gate.settings import benchmark_sizing

    return benchmark_sizing(_root(home), benchmark)


def traces_check(
    home: Home = None, *, traces: PathArg | None = None, notify: Notify | None = None
) -> Readiness:
    """Count ``traces`` by query class against the home's ``[specdistill.traces]``
    thresholds: whether there are enough for a benchmark and a diagnosis. Without
    ``traces``, those ``run`` would read (see :func:`_given_traces`)."""
    from specdistill.teacher.settings import trace_thresholds
    from specdistill.teacher.traces import check_readiness, load_traces

    root = _root(home)
    loaded = load_traces(_given_traces(root, traces, notify))
    return check_readiness(loaded, trace_thresholds(root))


__all__ = [
    "ApplyReport",
    "History",
    "HistoryEntry",
    "InitResult",
    "SessionRun",
    "SessionView",
    "apply_plan",
    "approve",
    "bench_run",
    "benchmark_build",
    "benchmark_check",
    "cache_clear",
    "cache_stats",
    "commit_diff",
    "doctor",
    "history",
    "init",
    "log",
    "loop",
    "plan_json_schema",
    "quickstart",
    "recover",
    "reject",
    "review",
    "review_show",
    "rollback",
    "run_session",
    "show",
    "student_json_schema",
    "traces_check",
]
