"""A full-covariance Gaussian mixture on iris, fitted by L-BFGS-B on symback's gradient.

Each component k has a mean μ_k, a mixing logit a_k and a precision factor P_k (lower
triangular, positive diagonal through exp), so Σ_k⁻¹ = P_k P_kᵀ is positive definite for every
value of the parameters and the optimiser is unconstrained:

    log N(x | μ_k, Σ_k) = −d/2 log 2π + Σ_i log (P_k)_ii − ½ ‖(x − μ_k) P_k‖²
    NLL = −mean_n logsumexp_k (log softmax(a)_k + log N(x_n | μ_k, Σ_k))

symback derives the gradient with respect to every parameter (the P-gradient of one component
is printed), one compiled function returns the NLL and all gradients, and SciPy's L-BFGS-B
minimises it from scikit-learn's k-means initialisation. The per-sample log-likelihood is then
compared with scikit-learn's ``GaussianMixture`` (EM) on the same data.

Run:  python examples/gaussian_mixture.py          (a second or two)
      python examples/gaussian_mixture.py --long   (several restarts, keeps the best)
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


def build_nll(d: int, k: int):
    """The mean NLL, the per-sample log-likelihood, the parameter symbols (logits, μ, raw
    precision factors), the data symbol and named intermediates for printing."""
    X = sb.matrix("X", "n", d)
    logits = sb.vector("a", k)
    mus = [sb.vector(f"mu{j}", d) for j in range(k)]
    raws = [sb.matrix(f"R{j}", d, d) for j in range(k)]
    lower = np.tril(np.ones((d, d)), -1)  # strictly lower part of R
    eye = np.eye(d)
    logw = sb.log_softmax(logits)
    comps, named = [], {}
    for j in range(k):
        # P = strict-lower(R) + diag(exp(diag R)): lower triangular with a positive diagonal
        P = raws[j] * lower + sb.exp(raws[j]) * eye
        z = (X - mus[j]) @ P
        named[P] = f"P{j}"
        named[z] = f"Z{j}"
        logdet = sb.trace(raws[j])  # Σ log P_ii = Σ R_ii
        comps.append(logw[j] + logdet - 0.5 * sb.sum(z * z, axis=1))
    joint = sb.stack(comps, axis=1)  # log π_k + log N(x_n | μ_k, Σ_k), n × k
    named[joint] = "L"
    ll = sb.logsumexp(joint, axis=1) - 0.5 * d * math.log(2 * math.pi)
    nll = -sb.mean(ll)
    return nll, ll, [logits] + mus + raws, X, named


def pack(values):
    return np.concatenate([np.ravel(v) for v in values])


def unpack(theta, params):
    out, at = [], 0
    for p in params:
        size = int(np.prod(p.shape)) if p.shape else 1
        out.append(theta[at:at + size].reshape(p.shape))
        at += size
    return out


def init_from_kmeans(X, k, seed):
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(X)
    d = X.shape[1]
    values = [np.log(np.bincount(km.labels_, minlength=k) / len(X))]
    values += [c for c in km.cluster_centers_]
    for j in range(k):
        cov = np.cov(X[km.labels_ == j].T) + 1e-3 * np.eye(d)
        # Σ⁻¹ = P Pᵀ with P lower: P = chol(Σ⁻¹)
        P = np.linalg.cholesky(np.linalg.inv(cov))
        R = np.tril(P, -1) + np.diag(np.log(np.diag(P)))
        values.append(R)
    return values


def fit(f, params, X, k, seed):
    from scipy.optimize import minimize

    theta0 = pack(init_from_kmeans(X, k, seed))

    def fun(theta):
        v, g = f(*unpack(theta, params), X)
        return float(v), pack(g)

    res = minimize(fun, theta0, jac=True, method="L-BFGS-B",
                   options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10})
    return res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=3)
    parser.add_argument("--long", action="store_true", help="5 restarts, keep the best")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default=str(OUTPUT / "gaussian_mixture.png"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        from sklearn.datasets import load_iris
        from sklearn.mixture import GaussianMixture
    except ImportError:
        print("gaussian_mixture needs scikit-learn and SciPy: pip install '.[examples]'",
              file=sys.stderr)
        return 2
    X = load_iris().data
    n, d = X.shape
    k = args.components
    t0 = time.perf_counter()
    nll, ll, params, Xs, named = build_nll(d, k)
    f = sb.value_and_grad(nll, params, args=params + [Xs])
    per_sample = sb.lambdify(params + [Xs], ll)
    print(f"NLL, {len(params)} gradients and the compiled function in "
          f"{time.perf_counter() - t0:.2f} s")
    if not args.quiet:
        # textbook: ∂NLL/∂μ_k = −(1/n) Σ_n γ_nk Σ_k⁻¹ (x_n − μ_k), Σ_k⁻¹ = P_k P_kᵀ,
        # γ = softmax(L) the responsibilities
        print("∂NLL/∂μ_0 =")
        print(sb.latex(sb.grad(nll, params[1]), names=named))
    best = None
    for restart in range(5 if args.long else 1):
        res = fit(f, params, X, k, args.seed + restart)
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    values = unpack(best.x, params)
    ours = float(np.mean(per_sample(*values, X)))
    gm = GaussianMixture(n_components=k, covariance_type="full", tol=1e-12, max_iter=10_000,
                         reg_covar=1e-12, n_init=5, random_state=args.seed).fit(X)
    theirs = float(gm.score(X))
    print(f"L-BFGS-B: {best.nit} iterations, {best.nfev} evaluations, "
          f"‖∇‖∞ = {np.max(np.abs(f(*values, X)[1][0])):.1e} (logits)")
    print(f"mean log-likelihood per sample: symback + L-BFGS-B {ours:.6f}, "
          f"scikit-learn GaussianMixture (EM) {theirs:.6f}, |difference| {abs(ours - theirs):.2e}")
    if args.plot:
        try:
            plt = pyplot()
            fig, ax = plt.subplots(figsize=(5, 4))
            sc = ax.scatter(X[:, 2], X[:, 3], c=per_sample(*values, X), cmap="viridis", s=14)
            for mu in values[1:1 + k]:
                ax.plot(mu[2], mu[3], "r+", ms=14, mew=2)
            fig.colorbar(sc, label="log-likelihood")
            ax.set_xlabel("petal length")
            ax.set_ylabel("petal width")
            ax.set_title("Gaussian mixture on iris (symback + L-BFGS-B)")
            save_figure(fig, args.plot)
            print(f"plot written to {args.plot}")
        except ImportError:
            print("(matplotlib not installed: no plot)")
    return 0 if abs(ours - theirs) <= 1e-3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
