"""Shapes: tuples of dimensions, each an ``int`` or a symbolic ``str`` size.

Shape rules of ops are built from these helpers; every failure is a
:class:`~symback.errors.ShapeError` that names the op and the shapes.
Broadcasting follows NumPy: align on the right, a dimension of 1 stretches.
A symbolic dimension only matches itself (or 1).
"""

from __future__ import annotations

from typing import Iterable, Union

from .errors import ShapeError, SymbackError

Dim = Union[int, str]
Shape = tuple[Dim, ...]


def fmt(shape: Shape) -> str:
    """Render a shape the way NumPy prints it: ``(3, 4)``, ``(n,)``, ``()``."""
    inner = ", ".join(str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def check_shape(shape: Iterable[Dim], what: str = "shape") -> Shape:
    """Validate a user-given shape: non-negative ints or identifier strings."""
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise ShapeError(f"{what}: shape {shape!r} is not a tuple of dimensions "
                         "(ints or names such as 'n')")
    out: list[Dim] = []
    for d in shape:
        if isinstance(d, bool):
            raise ShapeError(f"{what}: dimension {d!r} is a bool, expected an int or a name")
        if isinstance(d, int):
            if d < 0:
                raise ShapeError(f"{what}: dimension {d} is negative")
            out.append(int(d))
        elif isinstance(d, str):
            if not d.isidentifier():
                raise ShapeError(f"{what}: symbolic dimension {d!r} is not an identifier")
            out.append(d)
        else:
            try:
                import numpy as np

                if isinstance(d, np.integer):
                    out.append(int(d))
                    continue
            except ImportError:  # pragma: no cover
                pass
            raise ShapeError(f"{what}: dimension {d!r} is not an int or a name")
    return tuple(out)


def dim_names(dims: object) -> object:
    """Sizes with scalar symbols read as their names (the parser reads ``shape=(n, 3)``
    with ``n`` a symbol); a tuple stays a tuple, one size stays one size."""
    if dims.__class__ is tuple:  # the usual case, ints and names: nothing to do (fast)
        for d in dims:  # type: ignore[attr-defined]
            if d.__class__ is not int and d.__class__ is not str:
                break
        else:
            return dims

    def one(d: object) -> object:
        if getattr(d, "is_symbol", False) and getattr(d, "shape", None) == ():
            return d.name  # type: ignore[attr-defined]
        return d
    if isinstance(dims, (tuple, list)):
        return tuple(one(d) for d in dims)
    return one(dims)


def broadcast(op: str, *shapes: Shape) -> Shape:
    """NumPy broadcasting of several shapes; ``ShapeError`` naming ``op`` if they clash."""
    if len(shapes) == 2 and shapes[0] == shapes[1]:  # the common case, e.g. x + y of one shape
        return shapes[0]
    ndim = max((len(s) for s in shapes), default=0)
    out: list[Dim] = []
    for k in range(ndim):
        dim: Dim = 1
        for s in shapes:
            i = len(s) - ndim + k
            if i < 0:
                continue
            d = s[i]
            if d == 1:
                continue
            if dim == 1:
                dim = d
            elif d != dim:
                listed = " and ".join(fmt(s) for s in shapes)
                raise ShapeError(
                    f"{op}: shapes {listed} do not broadcast "
                    f"(dimension {k - ndim} is {dim} in one and {d} in another)",
                    op=op,
                    shapes=shapes,
                )
        out.append(dim)
    return tuple(out)


def normalize_axis(op: str, axis: object, ndim: int) -> tuple[int, ...] | None:
    """Turn ``axis`` (None, int or tuple of ints) into a sorted tuple of non-negative axes.

    ``None`` stays ``None`` (all axes). Out-of-range or repeated axes raise ``ShapeError``.
    """
    if axis is None:
        return None
    if isinstance(axis, bool):
        raise ShapeError(f"{op}: axis={axis!r} is a bool, expected an int or a tuple of ints", op=op)
    if isinstance(axis, int):
        axes: tuple[object, ...] = (axis,)
    elif isinstance(axis, (tuple, list)):
        axes = tuple(axis)
    else:
        try:
            import numpy as np

            if isinstance(axis, np.integer):
                axes = (int(axis),)
            else:
                raise TypeError
        except TypeError:
            raise ShapeError(f"{op}: axis={axis!r} is not an int, a tuple of ints or None", op=op)
    out: list[int] = []
    for a in axes:
        if not isinstance(a, int) and type(a).__module__ == "numpy":
            import numpy as np

            if isinstance(a, np.integer):
                a = int(a)  # a NumPy integer entry, as np.sum accepts
        if isinstance(a, bool) or not isinstance(a, int):
            raise ShapeError(f"{op}: axis entry {a!r} is not an int", op=op)
        b = a + ndim if a < 0 else a
        if not 0 <= b < ndim:
            raise ShapeError(
                f"{op}: axis {a} is out of range for an argument with {ndim} dimension(s)", op=op
            )
        if b in out:
            raise ShapeError(f"{op}: axis {a} is repeated in axis={axis!r}", op=op)
        out.append(b)
    return tuple(sorted(out))


def check_flag(op: str, name: str, value: object) -> bool:
    """A bool-typed attribute (``keepdims``, ``transpose``): ``True``/``False`` (or a NumPy
    bool) only. Anything else (``"yes"``, ``1``, ``None``) is a ``SymbackError`` naming the
    op and the argument, not silently taken by its truthiness."""
    if value is True or value is False:
        return value
    import numpy as np

    if isinstance(value, np.bool_):
        return bool(value)
    raise SymbackError(f"{op}: {name}={value!r} must be True or False, not a value "
                       f"of type {type(value).__name__}")


def reduced(shape: Shape, axes: tuple[int, ...] | None, keepdims: bool) -> Shape:
    """The shape left after reducing ``axes`` of ``shape``."""
    if axes is None:
        axes = tuple(range(len(shape)))
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def size(shape: Shape) -> int | None:
    """Number of entries, or ``None`` if a dimension is symbolic."""
    n = 1
    for d in shape:
        if isinstance(d, str):
            return None
        n *= d
    return n
