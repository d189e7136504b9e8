"""The local review page, ``specdistill view``: sessions, the review queue with each
edit's evidence and diff, the checkpoint log; approve (through the gate), reject and
roll back.

It sits beside :mod:`specdistill.cli`, over :mod:`specdistill.commands`: every page
reads through a command function and every action is one, under the same lock.

* :mod:`~specdistill.web.security` — the guards: token, Host, Origin, CSRF, CSP;
* :mod:`~specdistill.web.app` — the routes and their templates (``templates/``);
* :mod:`~specdistill.web.jobs` — approvals in a background thread, polled live;
* :mod:`~specdistill.web.views` — diffs and filters shaped for the templates (pure);
* :mod:`~specdistill.web.server` — the loopback socket and uvicorn.
"""
