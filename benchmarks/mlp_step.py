"""One MLP value-and-gradient step (peers' workload W4): symback's compiled step vs hand NumPy.

Goodfellow 6.5.7 on digits-shaped data (n × 64, 10 classes), hidden 256, λ = 1e-4:
H = relu(X W1), U = H W2, J = mean softmax cross-entropy + λ(ΣW1² + ΣW2²).
Both sides are timed in the same process on the same arrays, in 5 interleaved
rounds (so drift in machine load hits both); each round takes the median of
repeats of a timed loop, and the best round is reported. The two results are
checked to agree first (1e-12 in float64, 1e-5 in float32).

Run:  python benchmarks/mlp_step.py                  (about a minute)
      OPENBLAS_NUM_THREADS=1 python benchmarks/mlp_step.py
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import symback as sb

D, K, LAM = 64, 10, 1e-4


def build(hidden: int, dtype: str):
    X, Y = sb.matrix("X", "n", D, dtype=dtype), sb.matrix("Y", "n", K, dtype=dtype)
    W1, W2 = sb.matrix("W1", D, hidden, dtype=dtype), sb.matrix("W2", hidden, K, dtype=dtype)
    U = sb.relu(X @ W1) @ W2
    J = -sb.mean(sb.sum(Y * sb.log_softmax(U), axis=1)) + LAM * (sb.sum(W1**2) + sb.sum(W2**2))
    return sb.value_and_grad(J, [W1, W2], args=[W1, W2, X, Y])


def numpy_step(W1, W2, X, Y):
    """Hand-written forward and backward pass (the textbook's equations)."""
    n = X.shape[0]
    Z1 = X @ W1
    H = np.maximum(Z1, 0)
    U = H @ W2
    U = U - U.max(axis=1, keepdims=True)
    E = np.exp(U)
    S = E.sum(axis=1, keepdims=True)
    J = -(Y * (U - np.log(S))).sum() / n + LAM * ((W1 * W1).sum() + (W2 * W2).sum())
    G = (E / S - Y) / n
    dW2 = H.T @ G + (2 * LAM) * W2
    dZ = (G @ W2.T) * (Z1 > 0)
    dW1 = X.T @ dZ + (2 * LAM) * W1
    return J, [dW1, dW2]


def per_call(fn, args, number: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn(*args)
        times.append((time.perf_counter() - t) / number)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"numpy {np.__version__}, python {platform.python_version()}, hidden {args.hidden}")
    print(f"{'dtype':8} {'batch':>6} {'symback':>12} {'hand NumPy':>12} {'ratio':>7}")
    rng = np.random.default_rng(0)
    for dtype in ("float64", "float32"):
        step = build(args.hidden, dtype)
        for n in (64, 1797):
            W1 = (rng.standard_normal((D, args.hidden)) / 8).astype(dtype)
            W2 = (rng.standard_normal((args.hidden, K)) / 16).astype(dtype)
            X = rng.standard_normal((n, D)).astype(dtype)
            Y = np.eye(K, dtype=dtype)[rng.integers(0, K, n)]
            v, g = step(W1, W2, X, Y)
            hv, hg = numpy_step(W1, W2, X, Y)
            tol = 1e-12 if dtype == "float64" else 1e-5
            assert abs(float(v) - float(hv)) <= tol * max(1, abs(float(hv)))
            for a, b in zip(g, hg):
                assert a.dtype == np.dtype(dtype)
                np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol)
            number = 200 if n == 64 else 20
            sb_t, np_t = [], []
            for _ in range(5):  # interleaved, so drift in machine load hits both
                sb_t.append(per_call(step, (W1, W2, X, Y), number, args.repeat))
                np_t.append(per_call(numpy_step, (W1, W2, X, Y), number, args.repeat))
            ts, tn = min(sb_t), min(np_t)
            print(f"{dtype:8} {n:6d} {ts * 1e6:10.0f}µs {tn * 1e6:10.0f}µs {ts / tn:7.2f}")


if __name__ == "__main__":
    main()
