"""Textbook NumPy forms of the composite ops, written independently of symback.numeric.

They are the naive formulas (fine on the small test inputs they are used on),
so a mistake in symback's stable kernels cannot hide behind a shared helper.
"""

from __future__ import annotations

import numpy as np


def sigmoid_ref(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus_ref(x):
    return np.log(1.0 + np.exp(x))


def logsumexp_ref(x, axis=None):
    return np.log(np.sum(np.exp(x), axis=axis))


def softmax_ref(x, axis=-1):
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax_ref(x, axis=-1):
    return np.log(softmax_ref(x, axis=axis))
