"""Worker processes with a time limit: a slow request is killed, the others go on.

Each worker is a separate process (``spawn``: no state shared with the server, no
threads forked) that reads requests from a pipe and answers them with
:func:`symback.web.compute.answer`. :meth:`WorkerPool.run` (called from a server
thread) takes an idle worker, waits at most ``queue_timeout_s`` for one (else
``503``), sends the request and waits at most ``limits.time_limit_s`` for the
answer; past it the worker is killed (``504``) and a fresh one is started in the
background. A worker that dies (out of memory, a crash) is replaced the same way
(``503``). Workers use one BLAS thread each and, where the OS allows, an address
space of at most ``memory_mb`` MiB.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from .compute import Limits, answer

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _worker_main(conn: Connection, limits: Limits, memory_mb: int | None) -> None:
    """The loop of one worker process: answer requests until the pipe closes."""
    if memory_mb:
        try:
            import resource

            cap = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        except (ImportError, ValueError, OSError):  # not on this OS: the time limit still holds
            pass
    import symback  # noqa: F401 - import before saying ready, so requests do not pay for it

    answer({"expr": "sum(sigmoid(X @ W))", "wrt": ["W"], "shapes": {"X": ["n", 3], "W": [3, 2]}},
           limits)  # warm up: the first request pays no first-use costs
    conn.send("ready")
    while True:
        try:
            req = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if req is None:
            return
        try:
            conn.send(answer(req, limits))
        except (BrokenPipeError, OSError):
            return


class _Worker:
    def __init__(self, ctx: Any, limits: Limits, memory_mb: int | None) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, limits, memory_mb),
                                daemon=True, name="symback-web-worker")
        saved = {k: os.environ.get(k) for k in _THREAD_VARS}
        try:
            for k in _THREAD_VARS:
                os.environ[k] = "1"
            self.proc.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        child.close()

    def wait_ready(self, timeout: float) -> bool:
        try:
            return bool(self.conn.poll(timeout)) and self.conn.recv() == "ready"
        except (EOFError, OSError):
            return False

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(5)
        except (OSError, ValueError):
            pass
        try:
            self.conn.close()
        except OSError:
            pass


class WorkerPool:
    """``workers`` processes answering requests, each within ``limits.time_limit_s``."""

    def __init__(self, limits: Limits, workers: int = 2, queue_timeout_s: float | None = None,
                 memory_mb: int | None = 2048) -> None:
        self.limits = limits
        self.size = max(1, int(workers))
        self.queue_timeout_s = (queue_timeout_s if queue_timeout_s is not None
                                else max(5.0, 2 * limits.time_limit_s))
        self.memory_mb = memory_mb
        self._ctx = mp.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._failures = 0  # workers in a row that did not start
        self.killed = 0  # workers killed for passing the time limit (for tests and logs)

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Start every worker and wait until each has imported symback.

        Workers are started with ``spawn``: a script that builds the app must keep that
        under ``if __name__ == "__main__":``, as usual with multiprocessing.
        """
        workers = [self._new() for _ in range(self.size)]
        failed = [w for w in workers if not w.wait_ready(120.0)]
        if failed:
            self.close()
            raise RuntimeError("symback serve: a worker process did not start (see the "
                               "messages above)")
        for w in workers:
            self._idle.put(w)

    def _new(self) -> _Worker:
        w = _Worker(self._ctx, self.limits, self.memory_mb)
        with self._lock:
            self._all.add(w)
        return w

    def _ready(self, w: _Worker) -> None:
        if w.wait_ready(120.0) and not self._closed:
            self._failures = 0
            self._idle.put(w)
            return
        self._drop(w)
        self._failures += 1
        if not self._closed and self._failures < 3:  # no respawn storm if workers cannot start
            time.sleep(0.5 * self._failures)
            self._replace_later()

    def _drop(self, w: _Worker) -> None:
        w.kill()
        with self._lock:
            self._all.discard(w)

    def _replace_later(self) -> None:
        """Start a fresh worker in the background (answers do not wait for it)."""
        def go() -> None:
            if not self._closed:
                self._ready(self._new())
        threading.Thread(target=go, daemon=True, name="symback-web-respawn").start()

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            try:
                w.conn.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 2.0
        for w in workers:
            w.proc.join(max(0.0, deadline - time.monotonic()))
            w.kill()

    # ------------------------------------------------------------------ requests

    def run(self, req: Any) -> tuple[int, dict[str, Any]]:
        """Answer one request in a worker: ``(status, body)``; blocks the calling thread."""
        if self._closed:
            return 503, {"error": "the server is shutting down"}
        try:
            w = self._idle.get(timeout=self.queue_timeout_s)
        except queue.Empty:
            return 503, {"error": f"server busy: no worker free within "
                                  f"{self.queue_timeout_s:g} s; try again", "limit": "queue"}
        limit = self.limits.time_limit_s
        try:
            w.conn.send(req)
            if w.conn.poll(limit):
                status, body = w.conn.recv()
                self._idle.put(w)
                return status, body
        except (EOFError, OSError, ValueError):
            self._drop(w)
            self._replace_later()
            return 503, {"error": "the worker stopped while answering (too much memory?); "
                                  "try a smaller request", "limit": "memory"}
        self.killed += 1
        self._drop(w)
        self._replace_later()
        return 504, {"error": f"time limit passed: the request took longer than "
                              f"time_limit_s = {limit:g} s and was stopped",
                     "limit": "time_limit_s", "max": limit}
