"""The Starlette application: the page, its static assets and ``POST /api/grad``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .compute import Limits
from .pool import WorkerPool

STATIC = Path(__file__).resolve().parent / "static"

#: The page loads only its own files: no CDN, no inline scripts. KaTeX sets inline styles.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _json(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=HEADERS)


def create_app(limits: Limits | None = None, *, workers: int = 2,
               allowed_hosts: Sequence[str] | None = None,
               queue_timeout_s: float | None = None, memory_mb: int | None = 2048,
               debug_hooks: bool = False) -> Starlette:
    """The web app. Workers start with the app (its lifespan) and stop with it.

    ``limits``: what a request may cost (:class:`symback.web.compute.Limits`);
    ``workers``: processes answering requests in parallel; ``allowed_hosts``: the
    ``Host`` headers accepted (``serve`` passes the loopback names when bound to
    127.0.0.1, which stops DNS-rebinding pages from reaching the server);
    ``debug_hooks``: tests only, lets a request ask its worker to spin for a while.
    """
    base = limits or Limits()
    if debug_hooks != base.debug_hooks:
        from dataclasses import replace

        base = replace(base, debug_hooks=debug_hooks)
    limits = base
    pool = WorkerPool(limits, workers=workers, queue_timeout_s=queue_timeout_s,
                      memory_mb=memory_mb)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(pool.start)
        try:
            yield
        finally:
            await run_in_threadpool(pool.close)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=HEADERS)

    async def api_limits(request: Request) -> Response:
        return _json(200, limits.public())

    async def health(request: Request) -> Response:
        return _json(200, {"ok": True})

    async def api_grad(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit()
                                     or int(declared) > limits.max_body_bytes):
            return _json(413, {"error": f"request body over the limit max_body_bytes = "
                                        f"{limits.max_body_bytes:,}", "limit": "max_body_bytes",
                               "max": limits.max_body_bytes})
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_body_bytes:
                return _json(413, {"error": f"request body over the limit max_body_bytes = "
                                            f"{limits.max_body_bytes:,}",
                                   "limit": "max_body_bytes", "max": limits.max_body_bytes})
            chunks.append(chunk)
        try:
            req = json.loads(b"".join(chunks).decode("utf-8"))
        except RecursionError:
            return _json(400, {"error": "the body is not a JSON object symback reads: "
                                        "nested too deeply", "position": None, "kind": "json"})
        except ValueError as e:  # JSONDecodeError, bad UTF-8, a number of 5,000 digits
            return _json(400, {"error": f"the body is not JSON: {str(e)[:200]}",
                               "position": None, "kind": "json"})
        if not isinstance(req, dict):
            return _json(400, {"error": "expected a JSON object with at least \"expr\"",
                               "position": None})
        status, body = await run_in_threadpool(pool.run, req)
        return _json(status, body)

    routes = [
        Route("/", index),
        Route("/api/grad", api_grad, methods=["POST"]),
        Route("/api/limits", api_limits),
        Route("/api/health", health),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = []
    if allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.pool = pool
    app.state.limits = limits
    return app
