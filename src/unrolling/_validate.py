"""Input checks and coercion shared by the public functions.

Every check raises a ``ValueError`` or ``TypeError`` whose message names the
argument and the valid range (a ``MemoryError`` naming ``num_steps`` for a path larger
than the machine's memory), so that bad input never reaches XLA. Array-likes are
coerced to float arrays the way NumPy users expect (:func:`floats`).
"""
import math
import numbers
import os

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


def _is_number_list(value):
    """True for a (nested) list of Python or NumPy numbers: an array-like, as in NumPy."""
    if isinstance(value, list):
        return all(_is_number_list(item) for item in value)
    return isinstance(value, (numbers.Number, np.generic))


def _float_leaf(value, name):
    """One leaf as an array; integer and boolean leaves become the default float dtype."""
    if isinstance(value, (jax.Array, np.ndarray, np.generic)):   # tracers included
        dtype = np.dtype(value.dtype)
    else:
        try:
            dtype = np.asarray(value).dtype
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be an array-like of numbers (or a pytree of them), "
                            f"got {value!r}") from err
        if dtype.kind not in "biufc":
            raise TypeError(f"{name} must be an array-like of numbers (or a pytree of them), "
                            f"got {value!r} of dtype {dtype}")
    if dtype.kind in "biu":
        dtype = jax.numpy.result_type(float)   # float64 when jax_enable_x64 is on
    return jax.numpy.asarray(value, dtype=dtype)


def floats(tree, name):
    """``tree`` (an array-like or a pytree of them) with every leaf a floating-point array.

    As in NumPy, a Python number, a (nested) list of numbers or an integer array is an
    array-like: ``[0, 1]`` becomes ``array([0., 1.])``. Integer and boolean values become
    the default float dtype (float64 with ``jax_enable_x64``), floating values keep their
    dtype (no silent float32 -> float64 change); tuples, dicts and lists holding arrays are
    pytrees. Anything else (a string, an object) raises a ``TypeError`` naming ``name``.
    """
    return jax.tree.map(lambda leaf: _float_leaf(leaf, name), tree, is_leaf=_is_number_list)


def memory(shapes, dtype, name, value, what, hint):
    """Refuse to allocate arrays of the given ``shapes`` when they exceed physical memory.

    Raises a ``MemoryError`` naming ``name`` (e.g. num_steps) and the bytes needed, before
    XLA tries the allocation. Returns the number of bytes.
    """
    nbytes = sum(math.prod(shape) for shape in shapes) * np.dtype(dtype).itemsize
    available = _physical_memory()
    if available and nbytes > available:
        raise MemoryError(f"{name} = {value}: {what} would need {_human(nbytes)}, more than "
                          f"this machine's {_human(available)} of memory; {hint}")
    return nbytes


def _physical_memory():
    """Total physical memory in bytes (0 when the system does not tell)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 0


def _human(nbytes):
    """Bytes in the largest binary unit that keeps the number >= 1 (e.g. '2.2 TiB')."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.3g} {unit}" if unit != "B" else f"{nbytes} B"
        nbytes /= 1024


def inputs(x0, u, v=None, w=None):
    """x0 (unless callable), u and the directions as pytrees of float arrays.

    Array-likes are taken as NumPy does: ``1`` or ``[0, 0]`` become float arrays, so that
    an integer or list input gives the answer of the float call (:func:`floats`).
    """
    def maybe(value, name):
        return None if value is None else floats(value, name)
    x0 = x0 if callable(x0) else floats(x0, "x0")
    return x0, floats(u, "u"), maybe(v, "v"), maybe(w, "w")


def float_fn(x0):
    """A callable x0 whose output is taken as float arrays (inside the compiled core, so
    that the callable itself stays the static, hashable argument)."""
    return lambda u: floats(x0(u), "x0")


def sizes(x0, u):
    """(n, p): the sizes of the flattened x and u."""
    x = jax.eval_shape(float_fn(x0), u) if callable(x0) else x0
    return tuple(sum(math.prod(np.shape(a)) for a in jax.tree.leaves(t)) for t in (x, u))


def path_memory(x0, u, num_steps, shapes, what, hint):
    """Refuse a stored path larger than the machine's memory, naming num_steps (skipped
    under tracing, where XLA may keep only the last entry)."""
    leaves = jax.tree.leaves((x0 if not callable(x0) else None, u))
    if any(isinstance(a, jax.core.Tracer) for a in leaves):
        return
    x = jax.eval_shape(float_fn(x0), u) if callable(x0) else x0
    x_leaves = jax.tree.leaves(x)
    dtype = jax.numpy.result_type(*x_leaves) if x_leaves else jax.numpy.result_type(float)
    memory(shapes, dtype, "num_steps", num_steps, what, hint)
