"""``symback serve``: a local web page and JSON API for gradients.

Type ``sum(sigmoid(X @ W))``, declare ``X=n,3 W=3,2``, and read each gradient typeset
(KaTeX, shipped in the package: no CDN), as text, the chain rule step by step, the
graph as SVG, the generated NumPy and a finite-difference check. ``POST /api/grad``
answers the same as JSON. Needs the optional ``web`` extra (``pip install
"symback[web]"``: Starlette and uvicorn).

Safety: the text is only parsed (:func:`symback.parse`), never executed; every request
is bounded in size, operators, graph nodes, shape sizes and time
(:class:`~symback.web.compute.Limits`), and runs in a worker process that is killed
past its time limit, so the server keeps answering the others. The server binds to
127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

from typing import Any

from .compute import Limits

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")

INSTALL_HINT = ("symback serve needs the optional web packages: pip install \"symback[web]\" "
                "(Starlette and uvicorn)")


def create_app(limits: Limits | None = None, **options: Any) -> Any:
    """The Starlette app (see :func:`symback.web.app.create_app`)."""
    try:
        from .app import create_app as make
    except ImportError as e:
        from ..errors import SymbackError

        raise SymbackError(f"{INSTALL_HINT} ({e})") from None
    return make(limits, **options)


def serve(host: str = "127.0.0.1", port: int = 8000, *, workers: int = 2,
          time_limit_s: float | None = None, limits: Limits | None = None,
          log_level: str = "info") -> None:
    """Start the page at ``http://host:port/`` and serve until interrupted (Ctrl-C).

    ``workers``: requests computed in parallel (one process each);
    ``time_limit_s``: wall time per request before its worker is killed (default 10 s).
    Binding to anything but the loopback address makes the page reachable from other
    machines; the limits still hold, but think twice.
    """
    try:
        import uvicorn
    except ImportError:
        from ..errors import SymbackError

        raise SymbackError(INSTALL_HINT) from None
    lim = limits or Limits()
    if time_limit_s is not None:
        from dataclasses import replace

        lim = replace(lim, time_limit_s=float(time_limit_s))
    allowed = (["127.0.0.1", "localhost", "[::1]", "::1"] if host in LOOPBACK else None)
    app = create_app(lim, workers=workers, allowed_hosts=allowed)
    shown = f"[{host}]" if ":" in host else host
    print(f"symback: serving http://{shown}:{port}/ (Ctrl-C stops)", flush=True)
    if allowed is None:
        print(f"symback: warning: listening on {host}, not 127.0.0.1: other machines can reach "
              "this page", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


__all__ = ["Limits", "create_app", "serve"]
