"""A 2-layer causal transformer over characters, trained with symback's compiled gradients.

    h⁰ = E[ids] + P                                   token and position embeddings
    hˡ⁺¹ = hˡ + MHA(LN(hˡ)) ;  hˡ⁺¹ += W₂ GELU(W₁ LN(hˡ⁺¹))   pre-norm blocks, causal attention
    J  = cross-entropy(LN(hᴸ) W_out, next character)

Text: the data-set descriptions that ship with scikit-learn (``DESCR`` of iris, digits,
diabetes, wine, breast cancer, linnerud: about 20 kB of English), so nothing is downloaded.
Every gradient is derived once by symback (the attention query-weight gradient of the first
layer is printed), one compiled function gives the loss and all gradients, Adam trains it, the
loss is compared with the unigram entropy of the text, and samples are printed.

Run:  python examples/char_transformer.py          (about a minute on 2 cores)
      python examples/char_transformer.py --long   (more steps, wider model)
Needs scikit-learn and matplotlib (pip install ".[examples]").
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
from mlp_digits import Adam, progress  # (shared optimiser and progress bar)

OUTPUT = Path(__file__).resolve().parent / "output"


def load_text() -> str:
    from sklearn import datasets

    parts = []
    for name in ("load_iris", "load_digits", "load_diabetes", "load_wine",
                 "load_breast_cancer", "load_linnerud"):
        parts.append(getattr(datasets, name)().DESCR)
    return "\n".join(parts)


def build_model(vocab: int, length: int, d: int, heads: int, layers: int,
                dtype: str = "float64", batch: int = 16):
    """Loss, logits, parameters and data symbols (ids, targets) of the transformer, for
    batches of ``batch`` sequences (the same parameter symbols for every batch size)."""
    ids = sb.tensor(f"ids{batch}", (batch, length), dtype="int64")
    targets = sb.tensor(f"targets{batch}", (batch, length), dtype="int64")
    E = sb.matrix("E", vocab, d, dtype=dtype)
    P = sb.matrix("P", length, d, dtype=dtype)
    params = [E, P]
    h = sb.nn.embedding(ids, E) + P
    for layer in range(layers):
        wq, wk, wv, wo = (sb.matrix(f"{n}{layer}", d, d, dtype=dtype) for n in "QKVO")
        w1 = sb.matrix(f"A{layer}", d, 4 * d, dtype=dtype)
        w2 = sb.matrix(f"B{layer}", 4 * d, d, dtype=dtype)
        g1, b1, g2, b2 = (sb.vector(f"{n}{layer}", d, dtype=dtype)
                          for n in ("gamma_a", "beta_a", "gamma_m", "beta_m"))
        params += [wq, wk, wv, wo, w1, w2, g1, b1, g2, b2]
        a = sb.nn.layer_norm(h, d, g1, b1)
        h = h + sb.nn.multi_head_attention(a, wq, wk, wv, wo, heads, is_causal=True)
        m = sb.nn.layer_norm(h, d, g2, b2)
        h = h + sb.nn.gelu(m @ w1) @ w2
    gf, bf = sb.vector("gamma_f", d, dtype=dtype), sb.vector("beta_f", d, dtype=dtype)
    wout = sb.matrix("W_out", d, vocab, dtype=dtype)
    params += [gf, bf, wout]
    logits = sb.nn.layer_norm(h, d, gf, bf) @ wout  # (b, L, V)
    loss = sb.nn.cross_entropy(sb.reshape(logits, (-1, vocab)), sb.reshape(targets, (-1,)))
    return loss, logits, params, [ids, targets]


def init_params(params, rng: np.random.Generator, dtype) -> list[np.ndarray]:
    out = []
    for p in params:
        name = p.name
        if name.startswith("gamma"):
            out.append(np.ones(p.shape))
        elif name.startswith("beta"):
            out.append(np.zeros(p.shape))
        else:
            out.append(rng.normal(scale=0.02 if name in ("E", "P") else 1.0 / math.sqrt(
                p.shape[0]), size=p.shape))
    return [a.astype(dtype) for a in out]


def sample(logits_fn, values, stoi, itos, length, prompt, n, rng, temperature=0.8):
    ctx = [stoi.get(c, 0) for c in prompt][-length:]
    out = list(prompt)
    for _ in range(n):
        window = ctx[-length:]
        pad = [window[0]] * (length - len(window)) + window
        lg = logits_fn(*values, np.array([pad]))[0, -1] / temperature
        p = np.exp(lg - lg.max())
        p /= p.sum()
        c = int(rng.choice(len(p), p=p))
        ctx.append(c)
        out.append(itos[c])
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true")
    parser.add_argument("--steps", type=int, default=None, help="default 300, long 2000")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--d", type=int, default=None, help="model width (default 48, long 96)")
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--float32", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default=str(OUTPUT / "char_transformer.png"))
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    steps = args.steps or (2000 if args.long else 300)
    d = args.d or (96 if args.long else 48)
    dtype = np.float32 if args.float32 else np.float64
    try:
        text = load_text()
    except ImportError:
        print("char_transformer needs scikit-learn: pip install '.[examples]'", file=sys.stderr)
        return 2
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in text])
    counts = np.bincount(data, minlength=len(chars)) / len(data)
    unigram = float(-np.sum(counts * np.log(counts)))
    t0 = time.perf_counter()
    dt = "float32" if args.float32 else "float64"
    loss, logits, params, (ids, targets) = build_model(len(chars), args.length, d, args.heads,
                                                       args.layers, dt, args.batch)
    step = sb.value_and_grad(loss, params, args=params + [ids, targets])
    # the same model on one sequence, for sampling (same parameter symbols)
    _, logits1, _, (ids1, _) = build_model(len(chars), args.length, d, args.heads, args.layers,
                                           dt, 1)
    logits_fn = sb.lambdify(params + [ids1], logits1)
    print(f"{len(text)} characters, {len(chars)} distinct; unigram entropy {unigram:.3f} nats")
    print(f"model, gradients and compiled step in {time.perf_counter() - t0:.2f} s "
          f"({sum(int(np.prod(p.shape)) for p in params)} parameters)")
    rng = np.random.default_rng(args.seed)
    values = init_params(params, rng, dtype)
    opt = Adam(values, lr=args.lr)
    history = []
    bar = progress(range(steps), not args.no_progress, desc="steps", unit="step")
    for _ in bar:
        start = rng.integers(0, len(data) - args.length - 1, size=args.batch)
        xb = np.stack([data[s:s + args.length] for s in start])
        yb = np.stack([data[s + 1:s + 1 + args.length] for s in start])
        value, grads = step(*values, xb, yb)
        opt.step(values, grads)
        history.append(float(value))
        if hasattr(bar, "set_postfix") and len(history) % 10 == 0:
            bar.set_postfix(loss=f"{np.mean(history[-10:]):.3f}")
    final = float(np.mean(history[-20:]))
    print(f"trained {steps} steps in {time.perf_counter() - t0:.1f} s: loss {history[0]:.3f} → "
          f"{final:.3f} nats per character (unigram entropy {unigram:.3f})")
    itos = {i: c for c, i in stoi.items()}
    print("sample:", repr(sample(logits_fn, values, stoi, itos, args.length, "The data set ",
                                 120, rng)))
    if args.plot:
        try:
            plt = pyplot()
            fig, ax = plt.subplots(figsize=(6, 4))
            ax.plot(history, lw=0.8, label="training loss")
            ax.axhline(unigram, color="r", ls="--", label="unigram entropy")
            ax.set_xlabel("step")
            ax.set_ylabel("nats per character")
            ax.legend()
            ax.set_title("char transformer, gradients by symback")
            save_figure(fig, args.plot)
            print(f"curve written to {args.plot}")
        except ImportError:
            print("(matplotlib not installed: no plot)")
    return 0 if final < unigram - 0.3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
