"""Jacobians, Hessians and Hessian-vector products. Not built yet (the higher-order issue)."""

from __future__ import annotations

from typing import Any


def jacobian(y: Any, x: Any) -> Any:
    """∂y/∂x with shape y.shape + x.shape (not implemented yet)."""
    raise NotImplementedError("sb.jacobian is not implemented yet")


def hessian(y: Any, x: Any) -> Any:
    """The Hessian of a scalar y (not implemented yet)."""
    raise NotImplementedError("sb.hessian is not implemented yet")


def hvp(y: Any, x: Any, v: Any) -> Any:
    """The Hessian-vector product (not implemented yet)."""
    raise NotImplementedError("sb.hvp is not implemented yet")
