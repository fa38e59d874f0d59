"""JAX plumbing shared by the library (private), defined once.

Flattening pytrees, the idle loop and the stored path of an update map, the
decorator that compiles a function with its update map static, and the light XLA
options used for the many small programs of the chapters (:data:`FAST_COMPILE`).
"""
import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

#: XLA options for the small, short-lived compiled programs of the chapters: compile
#: time dominates their run time, so the backend's expensive optimizations are skipped.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def jit_fast(fn, **kwargs):
    """``jax.jit`` with :data:`FAST_COMPILE`."""
    return jax.jit(fn, compiler_options=FAST_COMPILE, **kwargs)


def flat(tree):
    """The pytree as one flat vector."""
    return ravel_pytree(tree)[0]


def flat_rows(tree):
    """A pytree with a leading batch axis as a matrix, one flat row per batch entry."""
    return jax.vmap(flat)(tree)


def cast_like(value, like):
    """``value`` (a tangent or cotangent) with the dtypes of ``like``."""
    return jax.tree.map(lambda a, b: jnp.asarray(a, dtype=b.dtype), value, like)


def basis(tree):
    """The standard basis of the flattened ``tree``, as a pytree with a leading axis."""
    flat, unravel = ravel_pytree(tree)
    return jax.vmap(unravel)(jnp.eye(flat.size, dtype=flat.dtype))


def stack(first, stacked, last):
    """Rows ``first``, ``stacked[:-1]``, ``last`` (where ``stacked[-1] == last``).

    The last row is taken from the loop's final carry rather than from the stacked
    outputs, so that a jitted caller keeping only ``[-1]`` lets XLA drop the stacked
    buffer: then ``iterate(...)[-1]`` is a plain loop with O(n) memory.
    """
    if stacked.shape[0] == 0:
        return first[None]
    return jnp.concatenate([first[None], stacked[:-1], last[None]])


def run(update, x, u, num_steps):
    """x^{(num_steps)} from x, without storing the path (idle iterations)."""
    return lax.fori_loop(0, num_steps, lambda _, x: update(x, u), x)


def path(update, x, u, num_steps):
    """The inputs x, A(x), ..., of num_steps steps, stacked pytree (num_steps leading)."""
    return lax.scan(lambda x, _: (update(x, u), x), x, None, length=num_steps)[1]


def compiled(*static_argnums):
    """Decorator: run the function through ``jax.jit`` with the given arguments static
    (the update map, a callable x0, step counts), falling back to plain tracing when
    one of them is not hashable.

    An eager ``lax.scan`` (or ``jax.jacfwd``) compiles on every call; this way a call
    with an update map seen before reuses the compiled program.
    """
    def decorate(core):
        jitted = jax.jit(core, static_argnums=static_argnums)

        @functools.wraps(core)
        def call(*args):
            try:
                hash(tuple(args[i] for i in static_argnums))
            except TypeError:
                return core(*args)
            return jitted(*args)
        return call
    return decorate
