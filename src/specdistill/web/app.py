"""The review page's routes: server-rendered pages over :mod:`specdistill.commands`.

Every page reads through a command function and every action *is* one
(:func:`~specdistill.commands.approve`, :func:`~specdistill.commands.reject`,
:func:`~specdistill.commands.rollback`): the same lock, gate and checkpoint as the
terminal. A refusal (a stale edit, a held lock, a dirty spec) is the command's own
one-line error and hint, shown on the page.

=======================================  ======================================
``GET /``                                the review queue (``/queue``)
``GET /sessions[?status=S]``             the sessions, filterable by status
``GET /sessions/{id}``                   one session: what report.html shows, with diffs
``POST /sessions/{id}/rollback``         roll the session back
``GET /queue``                           each queued edit: evidence, diff, stale or not
``POST /approve``                        try a queued edit through the gate (a job)
``GET /jobs/{id}[/status]``              the approval's live progress, then its result
``POST /reject``                         reject a queued edit with a reason
``GET /log``                             the checkpoint log
=======================================  ======================================

The guards (token, Host, Origin, CSP) are :class:`specdistill.web.security.Guard`;
the CSRF field is checked here, where the form is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from specdistill import commands
from specdistill.errors import InvalidInput, LockHeld, SpecdistillError
from specdistill.sessions.report_facts import (
    TIERS_REDERIVED,
    fmt_cluster_deltas,
    fmt_delta,
    fmt_duration,
    fmt_score,
    fmt_time,
    teacher_lines,
)
from specdistill.sessions.report_html import STYLE as REPORT_STYLE
from specdistill.sessions.report_html import cluster_chart
from specdistill.web.jobs import JobBoard
from specdistill.web.security import CSRF_FIELD, Guard, RunSecrets, csrf_ok
from specdistill.web.views import (
    SESSION_STATUSES,
    diff_lines,
    filter_entries,
    outcome_counts,
    parse_status_filter,
    status_counts,
)

#: The largest form body accepted (a rejection reason is short).
MAX_FORM_BYTES = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("specdistill.web", "templates"),
        autoescape=True,  # every template, whatever its name: the spec and teacher are untrusted
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        score=fmt_score,
        delta=fmt_delta,
        time=fmt_time,
        duration=fmt_duration,
        cluster_deltas=fmt_cluster_deltas,
        diff_lines=diff_lines,
        urlpart=lambda value: quote(str(value), safe=""),
    )
    return env


class FormError(InvalidInput):
    """A posted form that is not this page's (too big, wrong type, no CSRF token)."""


class ReviewPage:
    """The page's state for one run: the home, the secrets, the approvals it started."""

    def __init__(self, home: Path, secrets: RunSecrets) -> None:
        self.home = home
        self.secrets = secrets
        self.jobs = JobBoard()
        self.env = _environment()

    # -- rendering -------------------------------------------------------------------

    def render(
        self, request: Request, name: str, http_status: int = 200, **context: Any
    ) -> Response:
        template = self.env.get_template(name)
        html = template.render(
            nonce=request.scope["state"]["nonce"],
            csrf=self.secrets.csrf,
            csrf_field=CSRF_FIELD,
            home=str(self.home),
            style=Markup(REPORT_STYLE),  # our own constant stylesheet
            **context,
        )
        return HTMLResponse(html, status_code=http_status)

    def error(self, request: Request, exc: SpecdistillError, title: str) -> Response:
        code = 409 if isinstance(exc, LockHeld) else 400 if isinstance(exc, InvalidInput) else 500
        return self.render(
            request, "message.html", code, title=title, error=exc.message, hint=exc.hint
        )

    async def form(self, request: Request) -> dict[str, str]:
        """The posted form, checked: urlencoded, bounded, with this run's CSRF token."""
        if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
            raise FormError(f"a form must be posted as {FORM_TYPE}")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise FormError(f"the form is larger than {MAX_FORM_BYTES} bytes")
        form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        if not csrf_ok(self.secrets, form):
            raise FormError("refused: the form has no valid CSRF token; reload the page")
        return form

    # -- pages -----------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        return RedirectResponse("/queue", status_code=303)

    async def sessions(self, request: Request) -> Response:
        status = parse_status_filter(request.query_params.get("status"))
        try:
            history = await run_in_threadpool(commands.history, self.home)
        except SpecdistillError as exc:
            return self.error(request, exc, "Sessions")
        return self.render(
            request,
            "sessions.html",
            title="Sessions",
            active="sessions",
            status=status,
            statuses=SESSION_STATUSES,
            counts=status_counts(history.entries),
            total=len(history.entries),
            entries=filter_entries(history.entries, status),
            outcome_counts=outcome_counts,
        )

    async def session(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        try:
            view = await run_in_threadpool(commands.show, self.home, session_id=session_id)
            diffs = {}
            for entry in view.commits:
                if entry.kind == "edit" and entry.edit_id:
                    diffs[entry.edit_id] = await run_in_threadpool(
                        commands.commit_diff, self.home, commit=entry.commit
                    )
            queued = [
                p
                for p in await run_in_threadpool(commands.review, self.home)
                if p.item.session_id == view.session.id
            ]
        except SpecdistillError as exc:
            return self.error(request, exc, f"Session {session_id}")
        facts = view.facts
        return self.render(
            request,
            "session.html",
            title=f"Session {view.session.id}",
            active="sessions",
            view=view,
            facts=facts,
            s=view.session,
            teacher=teacher_lines(view.session),
            tiers_note=None if facts.tiers_recorded else TIERS_REDERIVED,
            # Built by the report's renderer, which escapes every text and attribute.
            cluster_chart=Markup(cluster_chart(facts)),
            diffs=diffs,
            queued={p.item.edit.id: p for p in queued},
            can_roll_back=view.session.status.value not in ("rolled_back",),
        )

    async def queue(self, request: Request) -> Response:
        try:
            previews = await run_in_threadpool(commands.review, self.home)
        except SpecdistillError as exc:
            return self.error(request, exc, "Review queue")
        return self.render(
            request, "queue.html", title="Review queue", active="queue", previews=previews
        )

    async def log(self, request: Request) -> Response:
        try:
            entries = await run_in_threadpool(commands.log, self.home)
        except SpecdistillError as exc:
            return self.error(request, exc, "Checkpoint log")
        return self.render(
            request, "log.html", title="Checkpoint log", active="log", entries=entries
        )

    # -- actions ---------------------------------------------------------------------

    async def approve(self, request: Request) -> Response:
        try:
            form = await self.form(request)
            queue_id = form.get("id", "")
            # Fail fast, before a thread is started: the same check approve starts with.
            await run_in_threadpool(commands.review_show, self.home, queue_id=queue_id)
        except SpecdistillError as exc:
            return self.error(request, exc, "Approve")
        job = self.jobs.start_approval(commands.approve, self.home, queue_id)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    async def job(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            exc = InvalidInput("no such approval on this page", hint="see the review queue")
            return self.error(request, exc, "Approval")
        return self.render(
            request,
            "job.html",
            title=f"Approving {job.queue_id}",
            active="queue",
            job=job,
            status=job.status(),
        )

    async def job_status(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            return JSONResponse({"error": "no such approval"}, status_code=404)
        return JSONResponse(job.status())

    async def reject(self, request: Request) -> Response:
        try:
            form = await self.form(request)
            queue_id, reason = form.get("id", ""), form.get("reason", "")
            result = await run_in_threadpool(
                commands.reject, self.home, queue_id=queue_id, reason=reason
            )
        except SpecdistillError as exc:
            return self.error(request, exc, "Reject")
        return self.render(
            request,
            "message.html",
            title="Rejected",
            active="queue",
            lines=[
                f"{result.item.queue_id} is recorded as rejected_by_user: {result.outcome.error}",
                f"session {result.session.id} is {result.session.status.value}",
                *result.notes,
            ],
            session_id=result.session.id,
        )

    async def rollback(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        try:
            await self.form(request)
            report = await run_in_threadpool(commands.rollback, self.home, session_id, notify=None)
        except SpecdistillError as exc:
            return self.error(request, exc, f"Roll back {session_id}")
        lines = [
            f"session {report.session_id} is rolled back ({report.rollback_id})",
            f"reverted {len(report.reverted)} edit commit(s): "
            + (", ".join(e.edit_id or e.short for e in report.reverted) or "none"),
            *(f"restored {path}" for path in report.files),
            *report.notes,
        ]
        return self.render(
            request,
            "message.html",
            title="Rolled back",
            active="sessions",
            lines=lines,
            session_id=report.session_id,
        )


def create_app(home: Path, secrets: RunSecrets) -> Guard:
    """The review page of ``home`` as an ASGI app, behind its guard."""
    page = ReviewPage(home, secrets)
    routes = [
        Route("/", page.index),
        Route("/sessions", page.sessions),
        Route("/sessions/{session_id}", page.session),
        Route("/sessions/{session_id}/rollback", page.rollback, methods=["POST"]),
        Route("/queue", page.queue),
        Route("/approve", page.approve, methods=["POST"]),
        Route("/reject", page.reject, methods=["POST"]),
        Route("/jobs/{job_id}", page.job),
        Route("/jobs/{job_id}/status", page.job_status),
        Route("/log", page.log),
    ]
    return Guard(Starlette(routes=routes), secrets)


__all__ = ["FormError", "ReviewPage", "create_app"]
