"""README's "LaTeX line per layer" table for sb.nn is what ``sb.latex`` prints today.

The table is generated here from small symbols; if a layer's printing changes, this test
fails with the new table to paste into README.md (under "### Models").
"""

from __future__ import annotations

from pathlib import Path

import symback as sb

README = Path(__file__).resolve().parent.parent / "README.md"


def layer_rows() -> list[tuple[str, str, object]]:
    """(layer, call, expression) on the symbols the table names."""
    X = sb.tensor("X", ("N", 3, 8, 8))
    W, b = sb.tensor("W", (4, 3, 3, 3)), sb.vector("b", 4)
    Z, M = sb.matrix("Z", "n", "m"), sb.matrix("M", "n", "m")
    gamma, beta = sb.vector("gamma", "m"), sb.vector("beta", "m")
    Q, K, V = (sb.matrix(s, "n", "d") for s in "QKV")
    E, i = sb.matrix("E", 10, "d"), sb.vector("i", "n", dtype="int64")
    return [
        ("conv", "sb.nn.conv(X, W, b, padding=1)", sb.nn.conv(X, W, b, padding=1)),
        ("max_pool", "sb.nn.max_pool(X, 2)", sb.nn.max_pool(X, 2)),
        ("avg_pool", "sb.nn.avg_pool(X, 2)", sb.nn.avg_pool(X, 2)),
        ("layer_norm", "sb.nn.layer_norm(Z, 'm', gamma, beta)",
         sb.nn.layer_norm(Z, "m", gamma, beta)),
        ("batch_norm", "sb.nn.batch_norm(X)", sb.nn.batch_norm(X)),
        ("embedding", "sb.nn.embedding(i, E)", sb.nn.embedding(i, E)),
        ("dropout", "sb.nn.dropout(Z, M, 0.1)", sb.nn.dropout(Z, M, 0.1)),
        ("gelu", "sb.nn.gelu(Z)", sb.nn.gelu(Z)),
        ("gelu (tanh)", "sb.nn.gelu(Z, 'tanh')", sb.nn.gelu(Z, "tanh")),
        ("silu", "sb.nn.silu(Z)", sb.nn.silu(Z)),
        ("leaky_relu", "sb.nn.leaky_relu(Z)", sb.nn.leaky_relu(Z)),
        ("elu", "sb.nn.elu(Z)", sb.nn.elu(Z)),
        ("cross_entropy", "sb.nn.cross_entropy(Z, i)", sb.nn.cross_entropy(Z, i)),
        ("scaled_dot_product_attention", "sb.nn.scaled_dot_product_attention(Q, K, V)",
         sb.nn.scaled_dot_product_attention(Q, K, V)),
    ]


def layer_table() -> str:
    lines = ["| layer | call | `sb.latex` |", "|---|---|---|"]
    for name, call, e in layer_rows():
        lines.append(f"| {name} | `{call}` | `{sb.latex(e)}` |")
    return "\n".join(lines)


def test_readme_layer_table_is_what_sb_latex_prints():
    table = layer_table()
    text = README.read_text(encoding="utf-8")
    assert table in text, "README.md's sb.nn LaTeX table is stale; paste:\n" + table


def test_every_layer_of_the_issue_has_a_row():
    names = {r[0] for r in layer_rows()}
    for layer in ("conv", "max_pool", "avg_pool", "layer_norm", "batch_norm", "embedding",
                  "dropout", "gelu", "silu", "leaky_relu", "elu", "cross_entropy",
                  "scaled_dot_product_attention"):
        assert layer in names
        assert f"sb.nn.{layer}(" in layer_table()


def test_readme_attention_gradient_block_is_the_golden_file():
    import re

    blocks = re.findall(r"```latex\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    golden = (Path(__file__).resolve().parent / "golden" / "nn" / "attention_dQ.tex")
    assert golden.read_text(encoding="utf-8").strip() in [b.strip() for b in blocks]


def test_readme_layer_norm_gradient_block_is_the_golden_file():
    import re

    blocks = re.findall(r"```latex\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    golden = (Path(__file__).resolve().parent / "golden" / "nn" / "layer_norm_dx.tex")
    assert golden.read_text(encoding="utf-8").strip() in [b.strip() for b in blocks]
