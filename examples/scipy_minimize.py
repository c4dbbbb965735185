"""A small tanh network fitted by SciPy's L-BFGS-B, value and gradient from one compiled call.

    H = tanh(x W1 + b1),  ŷ = H W2 + b2,  L = ½ mean((ŷ − y)²) + (α/2)(ΣW1² + ΣW2²),

fitted to noisy samples of y = sin(3x) + 0.3x on [−2, 2]. The four parameter
tensors W1 (1, h), b1 (h,), W2 (h, 1), b2 (1,) are laid end to end in one
vector by ``sb.flat_value_and_grad``, whose callable
``f(theta, x, y) -> (float, gradient)`` is exactly what
``scipy.optimize.minimize(f, theta0, args=(x, y), jac=True, method="L-BFGS-B")``
wants. The flat gradient is checked against central differences at the start.

Run:  python examples/scipy_minimize.py            (about a second)
      python examples/scipy_minimize.py --long     (hidden 64, more iterations)
Needs SciPy (pip install ".[examples]").
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import symback as sb


def build(hidden: int, alpha: float):
    x = sb.matrix("x", "n", 1)
    y = sb.matrix("y", "n", 1)
    W1, b1 = sb.matrix("W1", 1, hidden), sb.vector("b1", hidden)
    W2, b2 = sb.matrix("W2", hidden, 1), sb.vector("b2", 1)
    yhat = sb.tanh(x @ W1 + b1) @ W2 + b2
    L = 0.5 * sb.mean((yhat - y) ** 2) + (alpha / 2) * (sb.sum(W1**2) + sb.sum(W2**2))
    return L, yhat, [W1, b1, W2, b2], [x, y]


def target(x: np.ndarray) -> np.ndarray:
    return np.sin(3 * x) + 0.3 * x


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=None, help="hidden units (default 16)")
    parser.add_argument("--maxiter", type=int, default=None, help="L-BFGS-B iterations (1000)")
    parser.add_argument("--long", action="store_true", help="hidden 64, 5000 iterations")
    parser.add_argument("--n", type=int, default=200, help="training samples")
    parser.add_argument("--alpha", type=float, default=1e-5, help="weight decay")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads (default 1: these arrays are far too small to gain "
                             "from more, and idle BLAS threads spinning on a busy machine made "
                             "this run 8x slower)")
    args = parser.parse_args(argv)
    hidden = args.hidden or (64 if args.long else 16)
    maxiter = args.maxiter or (5000 if args.long else 1000)

    from scipy.optimize import minimize

    try:  # after SciPy's import, so its BLAS is limited too; threadpoolctl comes with scikit-learn
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads)
    except ImportError:
        pass
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    xs = rng.uniform(-2, 2, (args.n, 1))
    ys = target(xs) + 0.05 * rng.standard_normal((args.n, 1))

    L, yhat, params, data = build(hidden, args.alpha)
    f = sb.flat_value_and_grad(L, params, data=data)
    print("L    =", L)
    print("dL/dW1 =", sb.grad(L, params[0]))
    print(f)

    theta0 = f.pack([rng.standard_normal((1, hidden)), rng.standard_normal(hidden),
                     rng.standard_normal((hidden, 1)) / np.sqrt(hidden), np.zeros(1)])
    value0, g0 = f(theta0, xs, ys)
    eps = 1e-6
    k = rng.choice(f.size, size=min(8, f.size), replace=False)
    fd = [(f(theta0 + eps * e, xs, ys)[0] - f(theta0 - eps * e, xs, ys)[0]) / (2 * eps)
          for e in np.eye(f.size)[k]]
    fd_err = float(np.max(np.abs(np.array(fd) - g0[k])))
    print(f"start: L = {value0:.6f}; gradient vs central differences at {len(k)} "
          f"coordinates: largest difference {fd_err:.1e}")

    res = minimize(f, theta0, args=(xs, ys), jac=True, method="L-BFGS-B",
                   options={"maxiter": maxiter})
    W1, b1, W2, b2 = f.unpack(res.x)
    grid = np.linspace(-2, 2, 401).reshape(-1, 1)
    predict = sb.lambdify(params + [data[0]], yhat)
    rmse = float(np.sqrt(np.mean((predict(W1, b1, W2, b2, grid) - target(grid)) ** 2)))
    print(f"L-BFGS-B: {res.message}; {res.nit} iterations, {res.nfev} calls of f "
          f"(each one compiled call for the value and all four gradients)")
    print(f"final L = {res.fun:.6f}, |gradient|_inf = {np.max(np.abs(res.jac)):.1e}; "
          f"RMSE against the noise-free curve on a grid: {rmse:.4f} (noise sd 0.05)")
    print(f"wall-clock {time.perf_counter() - t0:.2f} s")
    return 0 if fd_err < 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
