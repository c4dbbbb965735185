"""Timing helpers for the benchmark runner: interleaved rounds, medians, peak memory.

The machine these numbers come from is shared, so every comparison is made
inside one process, in interleaved rounds (candidate A, B, C, then A, B, C
again, ...), and each candidate's figure is the median over rounds of the
mean time of one call within a round. Each round records both wall-clock time
(``perf_counter``) and this process's CPU time (``process_time``): with one
compute thread per framework the two agree on a quiet machine, and CPU time
is far less disturbed when other processes compete for the cores.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Timing:
    """Median seconds per call (wall and CPU) over rounds, with every round kept."""

    wall: float
    cpu: float
    calls_per_round: int
    rounds_wall: list[float] = field(default_factory=list)
    rounds_cpu: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"wall_s": self.wall, "cpu_s": self.cpu, "calls_per_round": self.calls_per_round,
                "rounds_wall_s": self.rounds_wall, "rounds_cpu_s": self.rounds_cpu}


def _calibrate(fn: Callable[[], Any], target: float) -> tuple[int, float]:
    """How many calls take about ``target`` seconds (at least 1), and seconds per call."""
    fn()  # warm up (first-call costs are measured elsewhere)
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t
        if dt >= target / 8 or n >= 1 << 20:
            return max(1, int(n * target / max(dt, 1e-9))), dt / n
        n *= 4


def interleaved(fns: dict[str, Callable[[], Any]], rounds: int = 41,
                target: float = 0.002, budget: float = 20.0) -> dict[str, Timing]:
    """Time each function in ``rounds`` interleaved rounds of about ``target`` seconds each.

    Short rounds, many of them, alternating between candidates: a burst of load from
    other processes then lands on every candidate alike, and the median discards it.
    When the candidates are slow, fewer rounds (at least 3) keep one group within
    about ``budget`` seconds.
    """
    cal = {k: _calibrate(f, target) for k, f in fns.items()}
    counts = {k: c[0] for k, c in cal.items()}
    per_round = sum(counts[k] * cal[k][1] for k in fns)
    rounds = max(3, min(rounds, int(budget / max(per_round, 1e-9))))  # slow peers: fewer rounds
    walls: dict[str, list[float]] = {k: [] for k in fns}
    cpus: dict[str, list[float]] = {k: [] for k in fns}
    gc_was = gc.isenabled()
    gc.disable()  # a collection landing in one candidate's round is noise, not its cost
    try:
        for r in range(rounds):
            for k, f in fns.items():
                n = counts[k]
                w0, c0 = time.perf_counter(), time.process_time()
                for _ in range(n):
                    f()
                walls[k].append((time.perf_counter() - w0) / n)
                cpus[k].append((time.process_time() - c0) / n)
            if r % 10 == 9:
                gc.collect()
    finally:
        if gc_was:
            gc.enable()
    return {k: Timing(statistics.median(walls[k]), statistics.median(cpus[k]), counts[k],
                      walls[k], cpus[k]) for k in fns}


def once(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``fn`` once: (result, wall seconds, CPU seconds)."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def repeated_once(make: Callable[[], Callable[[], Any]], repeats: int
                  ) -> tuple[Any, Timing]:
    """Median of ``repeats`` single runs, each of a fresh ``make()`` (build times)."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        gc.collect()
        fn = make()
        out, w, c = once(fn)
        walls.append(w)
        cpus.append(c)
    return out, Timing(statistics.median(walls), statistics.median(cpus), 1, walls, cpus)


def peak_memory(fn: Callable[[], Any], warm: bool) -> int:
    """Peak bytes traced by ``tracemalloc`` (NumPy reports its buffers to it) during one call.

    ``warm=True`` calls ``fn`` once first, so buffers kept between calls are not counted
    (the steady state of a training loop); ``warm=False`` measures a first call.
    """
    if warm:
        fn()
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
        del out
    finally:
        tracemalloc.stop()
    return int(peak)
