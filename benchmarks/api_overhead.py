"""The cost of the public op functions: W3's graph built through ``sb.sin``/``sb.cos``
(plain functions since the API reference) versus through their ops directly.

Run: ``nice -n 5 python benchmarks/api_overhead.py`` (a few seconds). W2 calls no
public function (operators only), so its build does not change.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import statistics
import time

import symback as sb  # noqa: E402
def build(sin, cos, d=2000):
    x, y = sb.symbols("x y"); z = x
    for _ in range(d):
        z = sin(z) * z + cos(z) * y
    return z
fw, op = (sb.sin, sb.cos), (sb.sin.op, sb.cos.op)
res = {"function": [], "op": []}
for r in range(15):
    for name, fns in (("function", fw), ("op", op)):
        t = time.process_time(); z = build(*fns); res[name].append(time.process_time() - t); del z
for k, v in res.items():
    print(f"W3 d=2000 graph build via {k:8s}: median {statistics.median(v)*1e3:.1f} ms CPU (15 interleaved rounds)")
