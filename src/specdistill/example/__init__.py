"""The bundled example: a small deterministic agent and the spec home ``quickstart`` creates.

:mod:`specdistill.example.agent` is the agent (a ``python`` student); ``data/`` holds the
example home's files (config, prompt, tools, benchmark) and its plan of edits;
:mod:`specdistill.example.quickstart` copies them into a directory and runs a session.
"""
