"""``python -m specdistill.cli``: the same as the ``specdistill`` command."""

from specdistill.cli import main

main()
