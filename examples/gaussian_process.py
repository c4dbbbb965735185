"""Gaussian-process regression: the log marginal likelihood and its gradient, derived by symback.

Kernel: RBF plus noise, with log hyperparameters θ = (log s², log ℓ, log σ²):

    K = s² exp(−D / (2 ℓ²)) + σ² I,        D_ij = ‖x_i − x_j‖²
    L = cholesky(K),  α = L⁻ᵀ L⁻¹ y        (two triangular solves)
    log p(y | X, θ) = −½ yᵀ α − Σ_i log L_ii − n/2 log 2π

symback differentiates this through ``cholesky`` and ``solve_triangular`` (sb.linalg), prints
∂/∂θ in LaTeX beside the textbook form ½ tr((α αᵀ − K⁻¹) ∂K/∂θ) (and checks that the two agree
numerically), fits θ with L-BFGS-B, and compares the optimum's log marginal likelihood with
scikit-learn's ``GaussianProcessRegressor`` (ConstantKernel · RBF + WhiteKernel) on the same data.

Data: one feature (body-mass index) of scikit-learn's diabetes data set against the disease
progression, both standardised.

Run:  python examples/gaussian_process.py          (a few seconds)
      python examples/gaussian_process.py --long   (all 10 features, more restarts)
Needs scikit-learn, SciPy and matplotlib (pip install ".[examples]").
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

import symback as sb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _plotting import pyplot, save_figure  # (shared with the other examples)

OUTPUT = Path(__file__).resolve().parent / "output"


def build_lml():
    """The log marginal likelihood, its symbols (θ as three scalars; D, y data) and K."""
    t_s, t_l, t_n = sb.symbols("log_s2 log_ell log_sigma2")
    D = sb.matrix("D", "n", "n")  # squared distances (data)
    y = sb.vector("y", "n")
    K = sb.exp(t_s) * sb.exp(D * (-0.5 * sb.exp(-2.0 * t_l))) + sb.exp(t_n) * sb.eye("n")
    L = sb.linalg.cholesky(K)
    v = sb.linalg.solve_triangular(L, y, lower=True)
    alpha = sb.linalg.solve_triangular(L.T, v, lower=False)
    n = sb.sum(sb.ones_like(y))  # n, the number of data points (a symbolic size)
    lml = -0.5 * (y @ alpha) - sb.sum(sb.log(sb.diag(L))) - 0.5 * math.log(2 * math.pi) * n
    return lml, [t_s, t_l, t_n], [D, y], K, alpha


def textbook_gradient(theta, Dv, yv):
    """½ tr((α αᵀ − K⁻¹) ∂K/∂θ_j), evaluated with NumPy (the independent formula)."""
    s2, ell, s2n = np.exp(theta[0]), np.exp(theta[1]), np.exp(theta[2])
    E = np.exp(-Dv / (2 * ell ** 2))
    K = s2 * E + s2n * np.eye(len(yv))
    Kinv = np.linalg.inv(K)
    a = Kinv @ yv
    M = np.outer(a, a) - Kinv
    dK = [s2 * E, s2 * E * Dv / ell ** 2, s2n * np.eye(len(yv))]
    return np.array([0.5 * np.sum(M * d) for d in dK])


def load(features: str):
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    if features == "bmi":
        X = X[:, 2:3]
    X = (X - X.mean(0)) / X.std(0)
    y = (y - y.mean()) / y.std()
    return X, y


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="all features, 5 restarts")
    parser.add_argument("--plot", default=str(OUTPUT / "gaussian_process.png"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        from scipy.optimize import minimize
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    except ImportError:
        print("gaussian_process needs scikit-learn and SciPy: pip install '.[examples]'",
              file=sys.stderr)
        return 2
    X, yv = load("all" if args.long else "bmi")
    Dv = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    t0 = time.perf_counter()
    lml, theta_syms, (D, y), K, alpha = build_lml()
    f = sb.value_and_grad(lml, theta_syms, args=theta_syms + [D, y])
    print(f"log marginal likelihood, its gradient and the compiled function in "
          f"{time.perf_counter() - t0:.2f} s (n = {len(yv)}, {X.shape[1]} feature(s))")
    if not args.quiet:
        print("∂ log p / ∂ log ℓ (symback):")
        print("  ", sb.latex(sb.grad(lml, theta_syms[1]), names={K: "K", alpha: "alpha"}))
        print("textbook: ½ tr((α αᵀ − K⁻¹) ∂K/∂θ),  ∂K/∂ log ℓ = s² exp(−D/2ℓ²) ⊙ D / ℓ²")

    def fun(theta):
        v, g = f(*theta, Dv, yv)
        return -float(v), -np.array([float(a) for a in g])

    theta0 = np.array([0.0, 0.0, -1.0])
    value, grad = f(*theta0, Dv, yv)
    book = textbook_gradient(theta0, Dv, yv)
    err = np.max(np.abs(np.array([float(a) for a in grad]) - book)) / np.max(np.abs(book))
    print(f"at θ0 = {theta0}: symback's gradient vs the textbook formula, max relative "
          f"difference {err:.1e}")
    best = None
    for r in range(5 if args.long else 2):
        start = theta0 + np.random.default_rng(r).normal(scale=0.5, size=3) * (r > 0)
        res = minimize(fun, start, jac=True, method="L-BFGS-B",
                       options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 1000})
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    ours = -best.fun
    kernel = ConstantKernel(1.0, (1e-8, 1e8)) * RBF(1.0, (1e-8, 1e8)) \
        + WhiteKernel(0.3, (1e-10, 1e8))
    gp = GaussianProcessRegressor(kernel, n_restarts_optimizer=2 if not args.long else 5,
                                  random_state=0).fit(X, yv)
    theirs = float(gp.log_marginal_likelihood_value_)
    rel = abs(ours - theirs) / abs(theirs)
    s2, ell, s2n = np.exp(best.x)
    print(f"optimum: s² = {s2:.6g}, ℓ = {ell:.6g}, σ² = {s2n:.6g}")
    print(f"log marginal likelihood: symback + L-BFGS-B {ours:.10f}, scikit-learn "
          f"{theirs:.10f}, relative difference {rel:.1e}")
    if args.plot and X.shape[1] == 1:
        try:
            plt = pyplot()
            grid = np.linspace(X.min(), X.max(), 200)[:, None]
            Kxx = s2 * np.exp(-(X - X.T) ** 2 / (2 * ell ** 2)) + s2n * np.eye(len(yv))
            Ksx = s2 * np.exp(-(grid - X.T) ** 2 / (2 * ell ** 2))
            mean = Ksx @ np.linalg.solve(Kxx, yv)
            var = s2 - np.sum(Ksx * np.linalg.solve(Kxx, Ksx.T).T, axis=1) + s2n
            fig, ax = plt.subplots(figsize=(6, 4))
            ax.scatter(X[:, 0], yv, s=6, alpha=0.5, label="data")
            ax.plot(grid[:, 0], mean, "k", label="posterior mean")
            sd = np.sqrt(np.maximum(var, 0))
            ax.fill_between(grid[:, 0], mean - 2 * sd, mean + 2 * sd, alpha=0.2, label="±2 sd")
            ax.set_xlabel("BMI (standardised)")
            ax.set_ylabel("progression (standardised)")
            ax.legend()
            ax.set_title("GP regression, hyperparameters by symback's gradient")
            save_figure(fig, args.plot)
            print(f"plot written to {args.plot}")
        except ImportError:
            print("(matplotlib not installed: no plot)")
    return 0 if rel <= 1e-6 and err <= 1e-8 else 1


if __name__ == "__main__":
    raise SystemExit(main())
