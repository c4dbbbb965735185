"""``python -m symback``: the same command line as ``symback`` (see :mod:`symback.cli`)."""

from .cli import main

raise SystemExit(main())
