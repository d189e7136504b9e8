"""``specdistill view``: the local review page (:mod:`specdistill.web`).

The web stack (starlette, uvicorn, jinja2) is imported when the command runs, never
when the CLI starts.
"""

from typing import Annotated

import typer

from specdistill.cli.app import HomeOption, app, err, handle_errors


@app.command("view")
@handle_errors
def view_command(
    home: HomeOption = None,
    port: Annotated[
        int,
        typer.Option(
            "--port", min=0, max=65535, help="The port on 127.0.0.1 (default: 0, a free one)."
        ),
    ] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the URL only; do not open a browser.")
    ] = False,
) -> None:
    """Serve the review page on 127.0.0.1: sessions, the queue with diffs, approve/reject/rollback.

    The URL printed carries a secret token for this run; only a browser that opened it
    is let in. Stop with Ctrl-C.
    """
    from specdistill.web.server import serve

    def announce(url: str) -> None:
        typer.echo(url)  # stdout, alone on its line: scripts read it
        err.print(
            "review page: open the URL above (it carries this run's secret token); Ctrl-C stops it",
            markup=False,
            soft_wrap=True,
        )

    serve(home, port=port, open_browser=not no_browser, announce=announce)
