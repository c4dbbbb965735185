"""``POST /api/grad`` through the ASGI test client: answers, errors, limits, hostile text.

The answers are checked against independent references: the seed examples' published
numbers and hand-derived NumPy formulas (the returned gradient text is parsed back and
evaluated), never against symback's own gradient. Needs the ``web`` extra and httpx;
skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install '.[web]'")
pytest.importorskip("httpx", reason="httpx (Starlette's test client) is not installed")

from hypothesis import given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient
from test_fuzz_text import VOCAB, _payloads
from test_parse import ERRORS, SHAPES

import symback as sb
from symback.web import create_app
from symback.web.compute import Limits, answer

LIMITS = Limits()


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    with TestClient(create_app(LIMITS, workers=2)) as c:
        yield c


def grad_call(client, expr, wrt=None, shapes=None, **extra):  # type: ignore[no-untyped-def]
    body = {"expr": expr, **extra}
    if wrt is not None:
        body["wrt"] = wrt
    if shapes is not None:
        body["shapes"] = shapes
    return client.post("/api/grad", json=body)


def sig(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def evaluate(text: str, shapes: dict, values: dict) -> np.ndarray:
    """The returned gradient text, parsed back and evaluated at ``values``."""
    e = sb.parse(text, shapes)
    syms = sorted(sb.free_symbols(e), key=lambda s: s.name)
    return np.asarray(sb.lambdify(syms, e)(*(values[s.name] for s in syms)), dtype=float)


# --------------------------------------------------------------------------- happy paths


def test_issue_example_answers_in_the_documented_form(client) -> None:  # type: ignore[no-untyped-def]
    r = grad_call(client, "sum(sigmoid(X @ W))", ["W"], {"X": ["n", 3], "W": [3, 2]})
    assert r.status_code == 200, r.text
    body = r.json()
    (g,) = body["gradients"]
    assert g["wrt"] == "W" and g["shape"] == [3, 2]
    assert g["text"] == "X.T @ (sigmoid(X @ W) * (1.0 - sigmoid(X @ W)))"
    assert g["latex"] == r"X^{T} (\sigma(X W) \odot (1 - \sigma(X W)))"
    assert "dL/dW" in body["steps"] and "def " in body["source"]
    assert body["graph_svg"].startswith("<svg") and 'class="node derivative"' in body["graph_svg"]
    assert body["check"]["ran"] and body["check"]["passed"] and body["check"]["sizes"] == {"n": 3}
    # the symbolic gradient against the hand-derived formula at a random point, n = 5
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((5, 3)), rng.standard_normal((3, 2))
    s = sig(x @ w)
    got = evaluate(g["text"], {"X": ("n", 3), "W": (3, 2)}, {"X": x, "W": w})
    assert np.allclose(got, x.T @ (s * (1 - s)), rtol=1e-12)


def test_e1_chain_rule_and_its_steps(client) -> None:  # type: ignore[no-untyped-def]
    r = grad_call(client, "3*(a + b*c)", ["a", "b", "c"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert [g["text"] for g in body["gradients"]] == ["3", "3 * c", "3 * b"]
    # at a=7, b=4, c=2: dJ/dc = 12 (the source text's 9 is wrong)
    vals = {"a": 7.0, "b": 4.0, "c": 2.0}
    assert [float(evaluate(g["text"], {}, vals)) for g in body["gradients"]] == [3, 6, 12]
    rows = body["steps_rows"]
    assert [f["text"] for f in rows["forward"]] == ["b * c", "a + u", "3 * v"]
    assert [e["label"] for e in rows["entries"]][-3:] == ["dL/dc", "dL/db", "dL/da"]
    assert "dL/du · du/dc = 3 · b" in body["steps"]


def test_e2_logistic_loss_prints_sigma_minus_y(client) -> None:  # type: ignore[no-untyped-def]
    r = grad_call(client, "-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))", ["z"])
    assert r.status_code == 200, r.text
    g = r.json()["gradients"][0]
    assert g["latex"] == r"\sigma(z) - y"
    for z, y in [(0.3, 1.0), (-2.0, 0.0), (4.0, 1.0)]:
        assert math.isclose(float(evaluate(g["text"], {}, {"z": z, "y": y})), sig(z) - y,
                            rel_tol=1e-12, abs_tol=1e-15)


def test_e3_reference_numbers(client) -> None:  # type: ignore[no-untyped-def]
    shapes = {"X": [3, 3], "W": [3, 2]}
    r = grad_call(client, "sum(sigmoid(X @ W))", ["X", "W"], shapes)
    assert r.status_code == 200, r.text
    gx, gw = r.json()["gradients"]
    np.random.seed(190204)
    x, w = np.random.randn(3, 3), np.random.randn(3, 2)
    vals = {"X": x, "W": w}
    dx = evaluate(gx["text"], {"X": (3, 3), "W": (3, 2)}, vals)
    assert np.allclose(dx[0], [0.24888872, -0.37478060, 0.01121963], atol=5e-9)
    s = sig(x @ w)
    assert np.allclose(evaluate(gw["text"], {"X": (3, 3), "W": (3, 2)}, vals),
                       x.T @ (s * (1 - s)), rtol=1e-12)


def test_e4_least_squares_and_text_shapes(client) -> None:  # type: ignore[no-untyped-def]
    r = grad_call(client, "sum((X @ W - y)**2) / 2", "W", "X=n,3 W=3,1 y=n,1")
    assert r.status_code == 200, r.text
    g = r.json()["gradients"][0]
    assert g["text"] == "X.T @ (X @ W - y)"
    rng = np.random.default_rng(4)
    x, w, y = rng.standard_normal((6, 3)), rng.standard_normal((3, 1)), rng.standard_normal((6, 1))
    got = evaluate(g["text"], {"X": ("n", 3), "W": (3, 1), "y": ("n", 1)}, {"X": x, "W": w, "y": y})
    assert np.allclose(got, x.T @ (x @ w - y), rtol=1e-12)


def test_e6_mlp_with_onehot_and_named_intermediates(client) -> None:  # type: ignore[no-untyped-def]
    expr = ("-mean(sum(Y * log_softmax(relu(X @ W1) @ W2), axis=1))"
            " + lam*(sum(W1**2) + sum(W2**2))")
    shapes = "X=m,4 Y=m,3 W1=4,5 W2=5,3"
    plain = grad_call(client, expr, ["W2"], shapes).json()["gradients"][0]["latex"]
    onehot = grad_call(client, expr, ["W2"], shapes, onehot=["Y"]).json()
    g = onehot["gradients"][0]["latex"]
    assert r"\operatorname{softmax}" in g and r"\mathbf{1}" not in g and r"\mathbf{1}" in plain
    assert onehot["check"]["passed"]
    named = grad_call(client, expr, ["W2"], shapes, named=True).json()["gradients"][0]["latex"]
    assert "aligned" in named or "T_{1}" in named
    # the gradient text against the hand-derived formula (Goodfellow et al. 6.5.7)
    rng = np.random.default_rng(6)
    m = 7
    x, w1, w2 = rng.standard_normal((m, 4)), rng.standard_normal((4, 5)), rng.standard_normal((5, 3))
    y = np.eye(3)[rng.integers(0, 3, m)]
    lam = 0.1
    h = np.maximum(x @ w1, 0)
    u = h @ w2
    p = np.exp(u - u.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    want = h.T @ (p - y) / m + 2 * lam * w2
    # the text holds broadcast_to(..., shape=('m',)), outside the parser's grammar: compare
    # it with the library's own answer, and that answer with the hand-derived formula
    shp = {"X": ("m", 4), "Y": ("m", 3), "W1": (4, 5), "W2": (5, 3)}
    L = sb.parse(expr, shp)
    W2 = next(s for s in sb.free_symbols(L) if s.name == "W2")
    g2 = sb.grad(L, W2)
    assert onehot["gradients"][0]["text"] == str(g2)
    syms = sorted(sb.free_symbols(L), key=lambda s: s.name)
    vals = {"X": x, "Y": y, "W1": w1, "W2": w2, "lam": lam}
    got = sb.lambdify(syms, g2)(*(vals[s.name] for s in syms))
    assert np.allclose(got, want, rtol=1e-10)


def test_e7_single_neuron_reference_numbers(client) -> None:  # type: ignore[no-untyped-def]
    r = grad_call(client, "(sigmoid(sum(W @ X) + theta) - y)**2", ["W", "X", "theta"],
                  {"W": [1, 2], "X": [2, 1]})
    assert r.status_code == 200, r.text
    gw, gx, gt = r.json()["gradients"]
    shapes = {"W": (1, 2), "X": (2, 1)}
    vals = {"W": np.array([[-1.0, -1.5]]), "X": np.array([[-3.0], [2.0]]), "theta": 0.5, "y": 2.0}
    assert np.allclose(evaluate(gw["text"], shapes, vals), [[1.94236303, -1.29490868]], atol=5e-9)
    assert np.allclose(evaluate(gx["text"], shapes, vals), [[0.64745434], [0.97118151]], atol=5e-9)
    assert np.isclose(float(evaluate(gt["text"], shapes, vals)), -0.64745434, atol=5e-9)


def test_hessian_and_jacobian_modes(client) -> None:  # type: ignore[no-untyped-def]
    r = grad_call(client, "sum(softplus(X @ w) - y * (X @ w))", ["w"], "X=m,n w=n y=m",
                  mode="hessian")
    assert r.status_code == 200, r.text
    body = r.json()
    g = body["gradients"][0]
    assert g["shape"] == ["n", "n"] and body["check"]["passed"]
    assert g["latex"].startswith(r"X^{T} \operatorname{diag}(\sigma(X w)")
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((6, 4)), rng.standard_normal(4)
    s = sig(x @ w)
    got = evaluate(g["text"], {"X": ("m", "n"), "w": ("n",), "y": ("m",)},
                   {"X": x, "w": w, "y": rng.standard_normal(6)})
    assert np.allclose(got, x.T @ np.diag(s * (1 - s)) @ x, rtol=1e-10)
    r = grad_call(client, "softmax(x)", ["x"], {"x": [4]}, mode="jacobian")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["gradients"][0]["shape"] == [4, 4] and body["check"]["passed"]
    assert body["steps_rows"] is None  # no grad table for a vector output
    xv = rng.standard_normal(4)
    p = np.exp(xv) / np.exp(xv).sum()
    got = evaluate(body["gradients"][0]["text"], {"x": (4,)}, {"x": xv})
    assert np.allclose(got, np.diag(p) - np.outer(p, p), rtol=1e-12)


def test_numerical_check_catches_nothing_wrong_and_skips_big_tensors(client) -> None:  # type: ignore[no-untyped-def]
    r = grad_call(client, "sum(X @ W)", ["W"], {"X": [500, 300], "W": [300, 2]})
    assert r.status_code == 200, r.text
    check = r.json()["check"]
    assert not check["ran"] and "max_check_entries" in check["note"]
    r = grad_call(client, "softmax(x)", ["x"], {"x": [10_000]}, mode="jacobian")
    assert r.status_code == 200, r.text  # the 10,000 × 10,000 Jacobian is not evaluated
    check = r.json()["check"]
    assert not check["ran"] and "derivative with respect to x has 100,000,000" in check["note"]
    r = grad_call(client, "sum(sqrt(x) * log(x))", ["x"], {"x": ["n"]})
    assert r.status_code == 200 and r.json()["check"]["passed"]  # positive points retried


def test_every_name_is_differentiated_when_wrt_is_blank(client) -> None:  # type: ignore[no-untyped-def]
    body = grad_call(client, "a * b + sin(c)").json()
    assert [g["wrt"] for g in body["gradients"]] == ["a", "b", "c"]
    assert [g["text"] for g in body["gradients"]] == ["b", "a", "cos(c)"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("text,position,words", ERRORS)
def test_parser_errors_come_back_with_their_position(client, text, position, words) -> None:  # type: ignore[no-untyped-def]
    r = grad_call(client, text, shapes={k: list(v) for k, v in SHAPES.items()})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["position"] == position and words in body["error"]
    with pytest.raises(sb.ParseError) as info:
        sb.parse(text, SHAPES)
    assert body["error"] == info.value.message


def test_shape_errors_name_shapes_and_position(client) -> None:  # type: ignore[no-untyped-def]
    r = grad_call(client, "sum(X @ W)", ["W"], "X=3,3 W=2,2")
    assert r.status_code == 400
    body = r.json()
    assert body["position"] == 6 and "(3, 3) @ (2, 2)" in body["error"]


@pytest.mark.parametrize("body,words", [
    ({"expr": "x", "wrt": ["y"]}, "'y' does not appear"),
    ({"expr": "x", "shapes": {"Q": [2]}}, "'Q' does not appear"),
    ({"expr": "x", "shapes": "X:3"}, "NAME=D1,D2"),
    ({"expr": "x", "shapes": {"x": [2.5]}}, "not a whole number"),
    ({"expr": "x", "shapes": {"x": [-1]}}, "negative"),
    ({"expr": "x", "shapes": {"x": ["1e3"]}}, "not a whole number"),
    ({"expr": "x", "shapes": {"__class__": [1]}}, "not a name"),
    ({"expr": "x", "mode": "laplacian"}, "not one of"),
    ({"expr": "x", "max_steps": "many"}, "whole number"),
    ({"expr": "x", "seed": -1}, "seed"),
    ({"expr": "x", "seed": 2**40}, "seed"),
    ({"expr": "x", "max_steps": 2.5}, "whole number"),
    ({"expr": 42}, "as a string"),
    ({"expr": "x", "_debug_sleep": 100}, "unknown field '_debug_sleep'"),
    ({"expr": "x", "eval": "1"}, "unknown field"),
    ({"expr": "X", "shapes": {"X": [2, 2]}}, "not a scalar"),
])
def test_bad_requests_are_400_with_a_message(client, body, words) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/grad", json=body)
    assert r.status_code == 400, r.text
    assert words in r.json()["error"]


def test_bodies_that_are_not_json_objects(client) -> None:  # type: ignore[no-untyped-def]
    for raw in (b"not json", b"[1, 2]", b"\xff\xfe", b'"sum(x)"', b"",
                b"[" * 30_000 + b"]" * 30_000,  # deeper than Python's JSON reader goes
                b'{"expr": "x", "seed": ' + b"9" * 5000 + b"}"):  # over int's digit limit
        r = client.post("/api/grad", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 400, (raw, r.text)
        assert "error" in r.json()


def test_hostile_payloads_never_run(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "marker"
    for payload in _payloads(marker):
        r = grad_call(client, payload)
        assert r.status_code in (200, 400), (payload, r.status_code, r.text)
        assert not marker.exists(), f"executed: {payload}"
        if r.status_code == 400:
            assert r.json()["error"]
    for payload in _payloads(marker)[:4]:  # hostile text in the other fields too
        for body in ({"expr": "x", "wrt": [payload]}, {"expr": "x", "shapes": {payload: [1]}},
                     {"expr": "x", "shapes": payload}, {"expr": "x", "onehot": [payload]}):
            r = client.post("/api/grad", json=body)
            assert r.status_code in (400, 422), (body, r.text)
            assert not marker.exists()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(VOCAB), max_size=25))
def test_fuzzed_text_is_answered_never_a_500(client, tokens) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(tokens)
    r = grad_call(client, text, shapes={"W": [2, 3], "X": ["n", 2], "x": [3]})
    assert r.status_code in (200, 400, 422), (text, r.status_code, r.text)
    body = r.json()
    if r.status_code == 400 and body.get("kind") == "parse":
        assert isinstance(body["position"], int) and 0 <= body["position"] <= len(text)


# --------------------------------------------------------------------------- limits


def test_oversized_inputs_name_their_limit(client) -> None:  # type: ignore[no-untyped-def]
    lim = LIMITS
    cases = [
        ({"expr": "x" + "+x" * (lim.max_text_chars // 2 + 1)}, 413, "max_text_chars"),
        ({"expr": "x+" * (lim.max_operators + 5) + "x"}, 422, "max_operators"),
        ({"expr": "(" * (lim.max_depth + 5) + "x" + ")" * (lim.max_depth + 5)}, 422, "max_depth"),
        ({"expr": "sum(X)", "shapes": {"X": [lim.max_dim + 1, 2]}}, 422, "max_dim"),
        ({"expr": "sum(X)", "shapes": {"X": [2] * (lim.max_rank + 1)}}, 422, "max_rank"),
        ({"expr": "x", "wrt": ["x"] * (lim.max_variables + 1)}, 422, "max_variables"),
        ({"expr": "x", "max_steps": lim.max_steps + 1}, 422, "max_steps"),
        ({"expr": "x", "shapes": {f"s{i}": [1] for i in range(lim.max_shape_entries + 1)}}, 422,
         "max_shape_entries"),
    ]
    for body, status, limit in cases:
        r = client.post("/api/grad", json=body)
        assert r.status_code == status, (limit, r.text[:300])
        assert r.json()["limit"] == limit and limit in r.json()["error"]
    for size in (lim.max_body_bytes + 1, 1 << 20):  # request bodies, a megabyte included
        r = client.post("/api/grad", content=b'{"expr": "' + b"x" * size + b'"}',
                        headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["limit"] == "max_body_bytes"


def test_graph_node_limit_is_checked_after_differentiating() -> None:
    status, body = answer({"expr": "sum(sigmoid(X @ W))", "shapes": "X=3,3 W=3,2"},
                          Limits(max_graph_nodes=8))
    assert status == 422 and body["limit"] == "max_graph_nodes"


def test_explain_is_cut_at_max_steps(client) -> None:  # type: ignore[no-untyped-def]
    r = grad_call(client, "sin(sin(sin(sin(sin(sin(x))))))", ["x"], max_steps=2)
    rows = r.json()["steps_rows"]
    assert rows["entries_cut"] is not None and len(rows["entries"]) <= 3


# --------------------------------------------------------------------------- the page


def test_page_and_assets_are_local(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/")
    assert r.status_code == 200 and "<form" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert "http://" not in r.text and "https://" not in r.text  # no CDN
    for path in ("/static/app.js", "/static/style.css", "/static/katex/katex.min.js",
                 "/static/katex/katex.min.css", "/static/katex/fonts/KaTeX_Main-Regular.woff2"):
        assert client.get(path).status_code == 200, path
    js = client.get("/static/app.js").text
    assert "eval(" not in js and "innerHTML" not in js
    assert client.get("/api/limits").json()["max_text_chars"] == LIMITS.max_text_chars
    assert "debug_hooks" not in client.get("/api/limits").json()


def test_only_loopback_host_names_when_bound_to_loopback() -> None:
    app = create_app(LIMITS, workers=1, allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get("/api/health").status_code == 200
        assert c.get("/api/health", headers={"host": "attacker.example"}).status_code == 400


def test_katex_fonts_named_in_its_css_are_shipped() -> None:
    static = Path(sb.__file__).parent / "web" / "static" / "katex"
    import re

    css = (static / "katex.min.css").read_text()
    woff2 = set(re.findall(r"url\(fonts/([^)]+\.woff2)\)", css))
    assert woff2 and all((static / "fonts" / f).exists() for f in woff2)
    assert (static / "LICENSE").exists()


def test_json_round_trip_of_a_full_answer(client) -> None:  # type: ignore[no-untyped-def]
    body = grad_call(client, "sum(sigmoid(X @ W))", ["X", "W"], "X=n,3 W=3,2").json()
    assert json.loads(json.dumps(body)) == body
    assert {"gradients", "steps", "steps_rows", "source", "graph_svg", "check", "limits",
            "expr", "elapsed_ms"} <= set(body)
