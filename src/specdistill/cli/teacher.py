"""``specdistill benchmark build|check`` and ``specdistill traces check``.

Each calls one :mod:`specdistill.commands` function (:func:`~specdistill.commands.
benchmark_build`, :func:`~specdistill.commands.benchmark_check`,
:func:`~specdistill.commands.traces_check`) and renders the result.
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from specdistill.cli.app import BenchmarkOption, HomeOption, app, echo_json, handle_errors, out
from specdistill.cli.progress import notify
from specdistill.cli.render import print_table

benchmark_app = typer.Typer(
    rich_markup_mode=None,
    help="Benchmarks: build one from traces, check what it can prove, run it on the spec.",
    no_args_is_help=True,
)
traces_app = typer.Typer(
    rich_markup_mode=None,
    help="Inspect traces (JSONL or an OpenJarvis traces.db).",
    no_args_is_help=True,
)
app.add_typer(benchmark_app, name="benchmark")
app.add_typer(traces_app, name="traces")

TracesOption = Annotated[
    Path | None,
    typer.Option(
        "--traces",
        help="Traces: a JSONL file or an OpenJarvis traces.db (SQLite) (default: "
        "[specdistill.traces] path, else the home's OpenJarvis traces.db).",
    ),
]


@benchmark_app.command("build")
@handle_errors
def benchmark_build_command(
    traces: TracesOption = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write the JSONL (default: [specdistill.benchmark] path, else "
            "<home>/benchmark.jsonl).",
        ),
    ] = None,
    home: HomeOption = None,
    teacher_references: Annotated[
        bool,
        typer.Option(
            "--teacher-references",
            help="Ask the teacher ([specdistill.teacher]) for short canonical references.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Mine high-feedback traces into a benchmark: deduplicated, clustered by query class."""
    from specdistill import commands

    report = commands.benchmark_build(
        home, traces=traces, out=out_file, teacher_references=teacher_references, notify=notify
    )
    if as_json:
        echo_json(report.to_json())
        return
    build = report.build
    out.print(f"wrote {len(build.benchmark)} tasks to {escape(str(report.path))}")
    out.print(f"version {build.version}")
    table = Table(title_justify="left")
    table.add_column("cluster")
    table.add_column("tasks", justify="right")
    for cluster, count in sorted(build.cluster_counts().items()):
        table.add_row(escape(cluster), str(count))
    print_table(table)
    out.print(
        f"{report.readiness.high} high-feedback traces; {build.duplicates} duplicates merged; "
        f"{len(build.skipped)} skipped"
    )
    for dropped in build.skipped[:10]:
        out.print(f"  skipped {escape(dropped.id)}: {escape(dropped.reason)}", soft_wrap=True)
    if len(build.skipped) > 10:
        out.print(f"  … and {len(build.skipped) - 10} more")
    for note in build.notes:
        out.print(f"  note: {escape(note)}", soft_wrap=True)
    if teacher_references:
        out.print(f"teacher cost: ${report.teacher_cost_usd:.4f}")


@benchmark_app.command("check")
@handle_errors
def benchmark_check_command(
    home: HomeOption = None,
    benchmark: BenchmarkOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per cluster, the fewest tasks that can prove an improvement and rule out a
    regression with the current [specdistill.gate] settings, against how many the
    benchmark has. Runs no student."""
    from specdistill import commands

    check = commands.benchmark_check(home, benchmark=benchmark)
    if as_json:
        echo_json(check.to_json())
        return
    cfg, s = check.config, check.sizing
    out.print(f"{escape(str(check.path))}: {check.tasks} tasks", soft_wrap=True)
    out.print(
        f"settings: alpha {cfg.alpha:g}, eps {cfg.eps:.2f}, cluster_alpha "
        f"{'none' if cfg.cluster_alpha is None else f'{cfg.cluster_alpha:g}'}"
    )
    table = Table(title_justify="left")
    for column in ("cluster", "tasks", "as target", "as another cluster", "the others"):
        table.add_column(column, justify="left" if column == "cluster" else "right")

    def cell(ok: bool, need: int | None, what: str) -> str:
        want = "impossible" if need is None else f"≥ {need} {what}"
        return want if ok else f"[red]{want}[/]"

    for c in check.clusters:
        table.add_row(
            escape(c.cluster),
            str(c.tasks),
            cell(c.can_be_target, c.target_needs, "better"),
            cell(c.can_be_guarded, c.guard_needs, "tied"),
            f"{c.others} / " + cell(c.others_guarded, c.others_need, "tied"),
        )
    print_table(table)
    out.print(
        f"best case: {s.efficacy_wins} target tasks better and none worse prove an "
        f"improvement; an off-target cluster the edit changes needs {s.cluster_ties} tied "
        f"tasks of its own and {s.pooled_ties} tied together",
        soft_wrap=True,
    )
    if check.scope == "view":
        out.print(
            "clusters whose tasks an edit leaves unchanged need nothing (fingerprint_scope = "
            '"view")',
            soft_wrap=True,
        )
    elif check.scope == "home":
        out.print(
            'your student reads the whole home (fingerprint_scope = "home"): every edit '
            "changes every cluster's tasks",
            soft_wrap=True,
        )
    for problem in check.problems:
        out.print(f"  [yellow]![/] {escape(problem)}", soft_wrap=True)
    if not check.problems:
        out.print("ready: every cluster can be a target, and guarded as another cluster")


@traces_app.command("check")
@handle_errors
def traces_check_command(
    traces: TracesOption = None,
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Count traces by query class and say whether there are enough for a benchmark and a
    diagnosis (thresholds: [specdistill.traces]). Exits 2 when something is missing."""
    from specdistill import commands
    from specdistill.teacher.errors import NotReady

    readiness = commands.traces_check(home, traces=traces, notify=notify)
    problems = [*readiness.benchmark_problems, *readiness.diagnosis_problems]
    if as_json:
        echo_json(
            {
                "total": readiness.total,
                "rated": readiness.rated,
                "high_feedback": readiness.high,
                "failing": readiness.failing,
                "by_query_class": {
                    "(none)" if name is None else name: vars(counts)
                    for name, counts in readiness.by_query_class.items()
                },
                "problems": problems,
            }
        )
    else:
        limits = readiness.thresholds
        table = Table(
            title=f"{readiness.total} traces (high: feedback >= {limits.high_feedback:g}; "
            f"failing: < {limits.low_feedback:g})",
            title_justify="left",
        )
        for column in ("query class", "traces", "rated", "high", "failing"):
            table.add_column(column, justify="left" if column == "query class" else "right")
        for name, counts in readiness.by_query_class.items():
            label = "(none)" if name is None else escape(name)
            table.add_row(
                label, str(counts.total), str(counts.rated), str(counts.high), str(counts.failing)
            )
        print_table(table)
        if not problems:
            out.print("ready: enough traces for a benchmark and a diagnosis")
    if problems:
        raise NotReady(problems)
