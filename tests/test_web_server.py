"""A real server on 127.0.0.1: concurrent requests, the time limit, ``symback serve``.

* Many requests at once (a bounded number, 127.0.0.1 only) are all answered; the
  latency percentiles are printed (``pytest -s`` shows them).
* A request that would run for ten minutes (the debug-only slow hook, which exists only
  when the app is built with ``debug_hooks=True`` from Python; a request cannot turn it
  on) is stopped at the time limit with a 504 while the other requests are answered.
* ``python -m symback serve --port P`` starts, answers, and leaves no process behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install '.[web]'")
pytest.importorskip("uvicorn", reason="the web extra is not installed: pip install '.[web]'")

from webserver import free_port, post, running

from symback.web import create_app
from symback.web.compute import Limits

ROOT = Path(__file__).resolve().parent.parent

SEEDS = [
    {"expr": "3*(a + b*c)", "wrt": ["a", "b", "c"]},
    {"expr": "-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))", "wrt": ["z"]},
    {"expr": "sum(sigmoid(X @ W))", "wrt": ["X", "W"], "shapes": {"X": ["n", 3], "W": [3, 2]}},
    {"expr": "sum((X @ W - y)**2) / 2", "wrt": ["W"], "shapes": "X=n,3 W=3,1 y=n,1"},
    {"expr": "(sigmoid(sum(W @ X) + theta) - y)**2", "wrt": ["W", "X", "theta"],
     "shapes": {"W": [1, 2], "X": [2, 1]}},
    {"expr": "sum(X @ W", "shapes": "X=n,3 W=3,2"},  # a typo: 400, answered as fast
]

TIME_LIMIT = 5.0


@pytest.fixture(scope="module")
def server():  # type: ignore[no-untyped-def]
    app = create_app(Limits(time_limit_s=TIME_LIMIT), workers=2, debug_hooks=True)
    with running(app) as base:
        yield base, app


def test_many_concurrent_requests(server) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    n_requests, n_clients = 200, 20
    bodies = [SEEDS[i % len(SEEDS)] for i in range(n_requests)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(n_clients) as ex:
        results = list(ex.map(lambda b: post(base, b, timeout=60), bodies))
    wall = time.perf_counter() - t0
    lat = np.array([r[2] for r in results]) * 1000
    statuses = [r[0] for r in results]
    errors = sum(1 for b, s in zip(bodies, statuses) if s != (400 if "wrt" not in b else 200))
    print(f"\nconcurrency: {n_requests} requests from {n_clients} clients, 2 workers, "
          f"wall {wall:.2f} s ({n_requests / wall:.0f} req/s); latency ms p50 "
          f"{np.percentile(lat, 50):.0f}, p95 {np.percentile(lat, 95):.0f}, max {lat.max():.0f}; "
          f"unexpected statuses {errors}")
    assert errors == 0, statuses
    assert lat.max() < 30_000


def test_a_request_past_the_time_limit_is_stopped_while_others_are_answered(server) -> None:  # type: ignore[no-untyped-def]
    base, app = server
    killed_before = app.state.pool.killed
    with ThreadPoolExecutor(8) as ex:
        slow = ex.submit(post, base, {"expr": "x", "_debug_sleep": 600}, 120)
        time.sleep(0.3)  # the slow one holds a worker now
        t0 = time.perf_counter()
        quick = [ex.submit(post, base, SEEDS[i % 5], 60) for i in range(12)]
        answers = [f.result() for f in quick]
        quick_wall = time.perf_counter() - t0
        status, body, seconds = slow.result()
    print(f"\ntime limit: the 600 s request got {status} after {seconds:.2f} s "
          f"(limit {TIME_LIMIT:g} s); meanwhile 12 others answered in {quick_wall:.2f} s, "
          f"slowest {max(a[2] for a in answers) * 1000:.0f} ms")
    assert all(a[0] == 200 for a in answers), [a[0] for a in answers]
    # all twelve were answered by the other worker while the slow one was still running
    assert 0.3 + quick_wall < seconds, (quick_wall, seconds)
    assert status == 504 and body["limit"] == "time_limit_s", body
    assert TIME_LIMIT <= seconds < TIME_LIMIT + 10
    assert app.state.pool.killed == killed_before + 1
    # the killed worker is replaced: both workers answer again
    deadline = time.monotonic() + 60
    while app.state.pool._idle.qsize() < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert app.state.pool._idle.qsize() == 2
    assert post(base, SEEDS[2])[0] == 200


def test_a_heavy_formula_within_the_text_limits_is_stopped_too(server) -> None:  # type: ignore[no-untyped-def]
    """No hook: the Hessian of a 200-factor product in 8 variables passes every size limit
    (2.2 kB, ~400 operators) and takes well over 30 s; it gets the 504 at the time limit."""
    base, _ = server
    expr = "*".join(f"sin(x{i % 8}*x{(i + 1) % 8})" for i in range(200))
    with ThreadPoolExecutor(4) as ex:
        heavy = ex.submit(post, base, {"expr": expr, "mode": "hessian"}, 120)
        time.sleep(0.3)
        quick = [ex.submit(post, base, SEEDS[i % 5], 60) for i in range(6)]
        assert all(f.result()[0] == 200 for f in quick)
        status, body, seconds = heavy.result()
    assert status == 504 and body["limit"] == "time_limit_s", body
    assert seconds < TIME_LIMIT + 10


def test_symback_serve_command_starts_answers_and_stops(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "symback", "serve", "--port", str(port),
                             "--workers", "1"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "symback serve did not start"
            time.sleep(0.2)
        status, body, _ = post(base, SEEDS[2])
        assert status == 200 and body["gradients"][1]["wrt"] == "W"
        with urllib.request.urlopen(base + "/", timeout=5) as r:
            assert b"<form" in r.read()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
    assert f"serving http://127.0.0.1:{port}/" in out
    assert proc.returncode == 0, out
    # no worker outlives the server (its process group is empty)
    deadline = time.monotonic() + 15  # the workers and multiprocessing's tracker exit
    while True:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "a worker process outlived symback serve"
        time.sleep(0.2)


def test_serve_command_rejects_a_bad_port() -> None:
    proc = subprocess.run([sys.executable, "-m", "symback", "serve", "--port", "70000"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "0..65535" in proc.stderr
