"""Kept for compatibility: the notation data lives in :mod:`symback.notation`."""

from ..notation import *  # noqa: F401,F403
from ..notation import ADD, ATOM, CMP, JUXT, LOWEST, MUL, NEG, POSTFIX, POW, Notation, Template, infix, prefix  # noqa: F401
