"""The teacher: traces in, failure clusters and a frozen plan of typed edits out.

Pipeline, one module per step:

* :mod:`.traces` / :mod:`.tracedb` – read traces (JSONL, or an OpenJarvis ``traces.db``)
  and check readiness;
* :mod:`.mine` – mine high-feedback traces into a benchmark (``benchmark build``);
* :mod:`.share` – the scrubbed, bounded sample: the only thing that leaves the machine;
* :mod:`.client` – any OpenAI-compatible endpoint, structured output, cost on a budget;
* :mod:`.diagnose` – failure clusters with evidence and the student's measured failure rate;
* :mod:`.plan` – the teacher's edits, each screened; tiers ours; ready to freeze;
* :mod:`.hillclimb` – one edit per round with the measured history; when a loop stops.

Prompts are package data (``teacher/prompts/*.md``, :mod:`.prompts`); settings come from
``[specdistill.teacher]`` and ``[specdistill.traces]`` (:mod:`.settings`).
"""

from specdistill.teacher.client import (
    CostLedger,
    InvalidReply,
    Pricing,
    TeacherCall,
    TeacherClient,
    parse_json_reply,
)
from specdistill.teacher.diagnose import ClusterMeasurement, Diagnosis, diagnose, sample_tasks
from specdistill.teacher.errors import (
    BudgetExceeded,
    NotReady,
    TeacherConfigError,
    TeacherReplyError,
    TraceError,
)
from specdistill.teacher.hillclimb import NextEdit, propose_next_edit, should_stop
from specdistill.teacher.mine import (
    BenchmarkBuild,
    BuildReport,
    build_benchmark,
    build_benchmark_file,
    choose_scorer,
    teacher_references,
    write_benchmark,
)
from specdistill.teacher.plan import PlanResult, plan_edits, rewrite_fraction, screen_edits
from specdistill.teacher.records import Dropped
from specdistill.teacher.settings import (
    TeacherSettings,
    share_policy,
    teacher_settings,
    trace_thresholds,
)
from specdistill.teacher.share import Scrubber, SharePolicy, TraceSample, build_sample
from specdistill.teacher.tracedb import read_traces_db
from specdistill.teacher.traces import (
    Readiness,
    ToolCall,
    Trace,
    TraceThresholds,
    check_readiness,
    load_traces,
    parse_traces_jsonl,
)

__all__ = [
    "BenchmarkBuild",
    "BudgetExceeded",
    "BuildReport",
    "ClusterMeasurement",
    "CostLedger",
    "Diagnosis",
    "Dropped",
    "InvalidReply",
    "NextEdit",
    "NotReady",
    "PlanResult",
    "Pricing",
    "Readiness",
    "Scrubber",
    "SharePolicy",
    "TeacherCall",
    "TeacherClient",
    "TeacherConfigError",
    "TeacherReplyError",
    "TeacherSettings",
    "ToolCall",
    "Trace",
    "TraceError",
    "TraceSample",
    "TraceThresholds",
    "build_benchmark",
    "build_benchmark_file",
    "build_sample",
    "check_readiness",
    "choose_scorer",
    "diagnose",
    "load_traces",
    "parse_json_reply",
    "parse_traces_jsonl",
    "plan_edits",
    "propose_next_edit",
    "read_traces_db",
    "rewrite_fraction",
    "sample_tasks",
    "screen_edits",
    "share_policy",
    "should_stop",
    "teacher_references",
    "teacher_settings",
    "trace_thresholds",
    "write_benchmark",
]
