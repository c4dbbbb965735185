"""The public op functions: real signatures, docstrings with the maths, same nodes as the ops."""

from __future__ import annotations

import inspect
import pickle
import pydoc
import types

import numpy as np
import pytest

import symback as sb
from symback.api_functions import NOTES, public_function
from symback.ops import REGISTRY

OP_FUNCTIONS = [n for n in sb.__all__
                if isinstance(getattr(getattr(sb, n), "op", None), sb.Op)
                and inspect.isfunction(getattr(sb, n))]
# made from an op by symback.api_functions (the others are written out in their op module,
# with the maths and an example in their own docstrings)
FACTORY_FUNCTIONS = [n for n in OP_FUNCTIONS if getattr(sb, n).__module__ == "symback"]


def test_every_public_op_is_a_function_now():
    assert "sigmoid" in OP_FUNCTIONS and "where" in OP_FUNCTIONS and "abs" in OP_FUNCTIONS
    for name in sb.__all__:
        assert not isinstance(getattr(sb, name), sb.Op), f"sb.{name} is still an Op instance"
    for name in OP_FUNCTIONS:
        fn = getattr(sb, name)
        assert isinstance(fn, types.FunctionType)
        # an alias (remainder for mod) is the very function under its NumPy name
        assert (fn.__name__ == name or getattr(sb, fn.__name__) is fn) \
            and fn.__module__.startswith("symback")
        assert fn.op is REGISTRY[fn.op.name]


def test_help_shows_the_signature_and_the_maths_not_the_op_class():
    text = pydoc.render_doc(sb.sigmoid, renderer=pydoc.plaintext)
    assert "sigmoid(x)" in text
    assert "σ(x) = 1 / (1 + e^(−x))" in text
    assert "dσ/dx = σ(x) (1 − σ(x))" in text
    assert "\\sigma(x)" in text  # the LaTeX, from the op's notation
    assert "class Op" not in text and "Everything symback knows" not in text
    assert str(inspect.signature(sb.sigmoid)) == "(x)"
    assert str(inspect.signature(sb.maximum)) == "(x1, x2)"
    assert str(inspect.signature(sb.where)) == "(condition, x, y)"
    # sb.outer is a plain function since issue 11 (np.outer's flattening): its parameters
    assert list(inspect.signature(sb.outer).parameters) == ["a", "b"]


@pytest.mark.parametrize("name", [n for n in sb.__all__ if inspect.isfunction(getattr(sb, n))])
def test_every_public_function_has_a_signature_and_an_example(name):
    fn = getattr(sb, name)
    inspect.signature(fn)  # a real signature
    doc = fn.__doc__ or ""
    assert len(doc) > 40 and ">>> " in doc, f"sb.{name} needs a docstring with an example"


@pytest.mark.parametrize("name", FACTORY_FUNCTIONS)
def test_docstring_has_math_args_and_example(name):
    doc = getattr(sb, name).__doc__
    assert "Math::" in doc and "Args:" in doc and "Returns:" in doc and "Example:" in doc
    assert ">>> import symback as sb" in doc
    for param in inspect.signature(getattr(sb, name)).parameters:
        assert f"    {param}: " in doc


@pytest.mark.parametrize("name", OP_FUNCTIONS)
def test_the_function_builds_the_same_interned_node_as_the_op(name):
    fn = getattr(sb, name)
    x, y = sb.symbols("x y")
    v = sb.vector("v", 3)
    if name == "where":
        args = (x > y, x, y)
    elif name in ("matmul", "outer"):
        args = (v, v)
    else:
        args = (x, y)[: fn.op.arity]
    node = fn(*args)
    assert node is fn.op(*args)
    assert fn(*args) is node  # and again: interned
    params = list(inspect.signature(fn).parameters)
    assert fn(**dict(zip(params, args))) is node  # keywords by the documented names


def test_values_follow_numpy():
    x, y = sb.symbols("x y")
    f = sb.lambdify([x, y], [sb.maximum(x, y), sb.pow(x, y), sb.where(x > y, x, y)])
    got = [float(v) for v in f(2.0, 3.0)]
    assert got == [3.0, 8.0, 3.0]


def test_errors_still_name_the_function():
    x = sb.symbols("x")
    with pytest.raises(sb.SymbackError, match="sigmoid: takes 1 argument"):
        sb.sigmoid(x, x)
    with pytest.raises(sb.SymbackError, match="sigmoid: .*unexpected keyword argument 'y'"):
        sb.sigmoid(x=x, y=x)
    with pytest.raises(sb.SymbackError, match="where: .*missing a required argument: 'y'"):
        sb.where(condition=x > 0, x=x)
    with pytest.raises(sb.ShapeError, match="maximum"):
        sb.maximum(sb.vector("a", 2), sb.vector("b", 3))


def test_pickling_functions_and_expressions():
    assert pickle.loads(pickle.dumps(sb.sigmoid)) is sb.sigmoid
    assert pickle.loads(pickle.dumps(sb.abs)) is sb.abs
    X = sb.matrix("X", 2, 2)
    e = sb.sum(sb.sigmoid(X) * sb.exp(X))
    assert pickle.loads(pickle.dumps(e)) is e


def test_parse_resolves_the_public_functions():
    x = sb.symbols("x")
    assert sb.parse("sigmoid(x) + abs(x)") is sb.sigmoid(x) + sb.abs(x)
    assert sb.parse("where(x > 0, x, 0)") is sb.where(x > 0, x, 0)
    with pytest.raises(sb.ParseError, match="sigmoid"):
        sb.parse("sigmoid(x, x)")
    with pytest.raises(sb.ParseError, match="expressions or numbers"):
        sb.parse("exp([1, 2])")


def test_dir_shows_only_public_names():
    names = dir(sb)
    assert set(names) == set(sb.__all__) | {"__version__"}
    for internal in ("annotations", "graph", "ops", "api_functions", "autodiff", "codegen"):
        assert internal not in names
    # submodules stay importable as attributes
    import symback.graph

    assert sb.graph is symback.graph


def test_notes_cover_every_op_function_and_name_real_ops():
    for name in FACTORY_FUNCTIONS:
        assert getattr(sb, name).op.name in NOTES
    for op_name in NOTES:
        assert op_name in REGISTRY


def test_factory_handles_attributes_and_variadic_ops():
    """An op with keyword attributes gets keyword-only parameters passed on only when given."""
    op = REGISTRY["transpose"]
    fn = public_function(op, "transpose_op")
    sig = inspect.signature(fn)
    assert [p.kind for p in sig.parameters.values()][0] is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert sig.parameters["axes"].kind is inspect.Parameter.KEYWORD_ONLY
    A = sb.tensor("A", (2, 3, 4))
    assert fn(A) is op(A)
    assert fn(A, axes=(1, 0, 2)).shape == (3, 2, 4)
    assert fn(A, axes=(1, 0, 2)) is op(A, axes=(1, 0, 2))
    np.testing.assert_array_equal(
        sb.lambdify([A], fn(A, axes=(1, 0, 2)))(np.arange(24.0).reshape(2, 3, 4)),
        np.arange(24.0).reshape(2, 3, 4).transpose(1, 0, 2))
    stack = REGISTRY["stack"]
    fs = public_function(stack, "stack_op")
    assert str(inspect.signature(fs)) == "(*args, axis=<op default>)"
    a, b = sb.vector("a", 2), sb.vector("b", 2)
    assert fs(a, b, axis=1) is stack(a, b, axis=1)
    assert fs(a, b, axis=1).shape == (2, 2)
    with pytest.raises(ValueError, match="not a function name"):
        public_function(op, "not valid")
