"""Input checks shared by the public functions.

Every check raises a ``ValueError`` or ``TypeError`` whose message names the
argument and the valid range, so that bad input never reaches XLA.
"""
import math
import numbers

import jax
import numpy as np


def num_steps(value, name="num_steps"):
    """Return ``value`` as an int, checking it is a non-negative integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative int, got {value!r} "
                        f"of type {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative int (>= 0), got {value}")
    return int(value)


def index(value, upper, name, upper_name="num_steps"):
    """Return ``value`` as an int, checking it lies in [0, upper]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int in [0, {upper_name}] = [0, {upper}], "
                        f"got {value!r}")
    if not 0 <= value <= upper:
        raise ValueError(f"{name} must lie in [0, {upper_name}] = [0, {upper}], got {value}")
    return int(value)


def _concrete(value):
    """The value as a Python float, or None when it is traced (under jit/vmap)."""
    if isinstance(value, jax.core.Tracer):
        return None
    arr = np.asarray(value)
    if arr.shape != ():
        raise TypeError(f"expected a scalar, got an array of shape {arr.shape}")
    if arr.dtype.kind not in "iuf":  # no strings, booleans, objects
        raise TypeError(f"expected a real number, got dtype {arr.dtype}")
    return float(arr)


def positive(value, name):
    """Check a scalar is finite and > 0 (skipped for traced values)."""
    try:
        x = _concrete(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a finite scalar > 0, got {value!r}") from err
    if x is not None and not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be finite and > 0, got {x}")
    return value


def in_range(value, name, low, high, low_open=False, high_open=False):
    """Check a scalar lies in the interval between ``low`` and ``high``."""
    try:
        x = _concrete(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a scalar, got {value!r}") from err
    if x is None:
        return value
    ok = math.isfinite(x) and (low < x if low_open else low <= x) and (
        x < high if high_open else x <= high)
    if not ok:
        lb, rb = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must lie in {lb}{low}, {high}{rb}, got {x}")
    return value


def same_shape(value, like, name, like_name):
    """Check two pytrees have the same structure and leaf shapes."""
    s1 = jax.tree.structure(value)
    s2 = jax.tree.structure(like)
    shapes1 = [np.shape(leaf) for leaf in jax.tree.leaves(value)]
    shapes2 = [np.shape(leaf) for leaf in jax.tree.leaves(like)]
    if s1 != s2 or shapes1 != shapes2:
        raise ValueError(f"{name} must have the structure and shapes of {like_name}: "
                         f"expected {shapes2} ({s2}), got {shapes1} ({s1})")
