r"""Measured time and memory of the derivative estimators (chapter 2).

Bolte et al. (2023, Table 2) predict, for K iterations of a map F in
:math:`\mathbb R^n` costing :math:`C_F` per evaluation and a gradient overhead
:math:`\omega` (cheap gradient principle, typically :math:`\omega \le 5`):

* forward algorithm (solve): time :math:`K C_F`, memory :math:`n`;
* forward mode, one tangent: time :math:`K \omega C_F`, memory :math:`n`;
* reverse mode, one cotangent: time :math:`K \omega C_F`, memory :math:`K n`;
* implicit: solve + :math:`\omega C_F n + n^3`, memory :math:`n`;
* one-step: solve + :math:`\omega C_F`, memory :math:`n`.

:func:`estimators` builds the five computations as functions of u,
:func:`profile_estimators` compiles each once per K, times it
(:func:`_median_time`) and reads its compiled memory (:func:`_peak_memory`).

The loop here keeps only the current iterate (``lax.fori_loop`` with a static
trip count, which JAX lowers to a ``lax.scan`` and so can reverse-differentiate),
and the two AD modes are ``jax.jvp`` / ``jax.vjp`` of :math:`u \mapsto x^{(K)}(u)`:
the estimators as one would deploy them. (:func:`unrolling.forward_mode` and
:func:`unrolling.reverse_mode` instead return the whole sequence of derivatives,
which costs memory proportional to K by design.)
"""
import statistics
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import _jax, _validate
from ._jax import FAST_COMPILE
from .derivatives import (Implicit, OneStep, Truncated, Unrolled, implicit_from_gradient, implicit_jacobian,
                          one_step_jacobian, truncated_solution)

__all__ = ["estimators", "profile_estimators", "reverse_memory_bytes",
           "forward_memory_bytes", "hypergradient_functions", "time_hypergradients",
           "estimator_costs"]

#: Names of the five computations, in the order of Bolte et al.'s Table 2.
_ESTIMATORS = ("solve", "forward", "reverse", Implicit.name, OneStep.name)


def _final_iterate(update, x0, u, num_steps):
    r""":math:`x^{(K)}(u)`, keeping only the current iterate in memory."""
    x = x0(u) if callable(x0) else x0
    return _jax.run(update, x, u, num_steps)


def estimators(update, x0, u, num_steps, v=None, w=None):
    r"""The five computations of Bolte et al.'s Table 2, each a function of u.

    * ``"solve"``: :math:`x^{(K)}(u)`;
    * ``"forward"``: :math:`D x^{(K)}(u)\, v` by ``jax.jvp`` (one tangent);
    * ``"reverse"``: :math:`w^\top D x^{(K)}(u)` by ``jax.vjp`` (one cotangent),
      which stores the iterates of the K steps;
    * ``"implicit"``: solve, then :math:`w^\top (I - B)^{-1} C` at :math:`x^{(K)}`
      (:func:`unrolling.implicit_jacobian`);
    * ``"one-step"``: :math:`x^{(K-1)}`, then :math:`w^\top C` there
      (:func:`unrolling.one_step_jacobian`, Bolte et al. eq. 4).

    Args:
      update, x0, u: as in :func:`unrolling.iterate` (x0 a value or ``u -> x0``).
      num_steps: K >= 1.
      v: tangent with the structure of u (default: all ones).
      w: cotangent with the structure of x (default: all ones).

    Returns:
      dict name -> function of u (in the order of :data:`_ESTIMATORS`), to be jitted.
      Chapter 2.
    """
    K = _validate.num_steps(num_steps)
    if K < 1:
        raise ValueError(f"num_steps must be >= 1 (one-step needs x^(K-1)), got {K}")
    x_like = jax.eval_shape(lambda u_: x0(u_) if callable(x0) else x0, u)
    v = jax.tree.map(jnp.ones_like, u) if v is None else v
    w = jax.tree.map(lambda s: jnp.ones(s.shape, s.dtype), x_like) if w is None else w
    _validate.same_shape(v, u, "v", "u")
    _validate.same_shape(w, x_like, "w", "x")

    def solve(u):
        return _final_iterate(update, x0, u, K)

    def one_step(u):
        return one_step_jacobian(update, _final_iterate(update, x0, u, K - 1), u, w=w)

    return {"solve": solve,
            "forward": lambda u: jax.jvp(solve, (u,), (v,))[1],
            "reverse": lambda u: jax.vjp(solve, u)[1](w)[0],
            Implicit.name: lambda u: implicit_jacobian(update, solve(u), u, w=w),
            OneStep.name: one_step}


def _median_time(fn, *args, repeats=5, min_time=0.02):
    """Median wall time (seconds) of ``fn(*args)`` over at least ``repeats`` calls.

    One warm-up call first (compilation, caches), then each call is timed with
    ``time.perf_counter`` up to ``jax.block_until_ready`` of its result; calls go
    on until there are ``repeats`` of them *and* they took ``min_time`` seconds in
    total, so that fast functions get many samples (a median over many samples
    resists the pauses of a busy machine). Pass a jitted or compiled function.
    Wall times vary between runs and machines.
    """
    repeats = _validate.num_steps(repeats, "repeats")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    jax.block_until_ready(fn(*args))
    times = []
    while len(times) < repeats or sum(times) < min_time:
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _peak_memory(fn, *args):
    """Bytes XLA reserves for one call of ``jax.jit(fn)(*args)``: temporaries + outputs.

    Read from the compiled program's ``memory_analysis()``: the size of XLA's
    buffer assignment for temporary buffers (buffers whose lifetimes do not
    overlap share memory, so this is the static peak of scratch memory) plus the
    outputs; the arguments are excluded. It is a property of the compiled
    program, deterministic for a given JAX version and machine, not a measured
    resident-set size. ``fn`` may also be an already compiled function
    (``jax.jit(f).lower(*args).compile()``), then ``args`` are ignored.
    """
    compiled = fn if isinstance(fn, jax.stages.Compiled) else jax.jit(fn).lower(*args).compile()
    stats = compiled.memory_analysis()
    if stats is None:
        raise RuntimeError("this JAX backend does not report compiled memory (memory_analysis)")
    return int(stats.temp_size_in_bytes + stats.output_size_in_bytes)


class _Profile(NamedTuple):
    """Costs of the estimators: ``seconds[name][i]`` and ``bytes[name][i]`` at ``steps[i]``."""
    steps: np.ndarray
    seconds: dict
    bytes: dict


def _compile_all(jobs, workers=2):
    """Compile ``jax.jit(fn)`` for ``args`` for every ``(fn, *args)`` of ``jobs``, in threads.

    XLA compiles outside Python's global lock, so ``workers`` threads use that many
    cores; the compiled programs are returned in the order of ``jobs`` (time them one at
    a time afterwards).
    """
    from concurrent.futures import ThreadPoolExecutor
    if int(workers) < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    jobs = list(jobs)
    with ThreadPoolExecutor(max_workers=int(workers)) as pool:
        return list(pool.map(lambda job: jax.jit(job[0]).lower(*job[1:]).compile(), jobs))


def profile_estimators(update, x0, u, steps, v=None, w=None, repeats=5, workers=2):
    """Median wall time and compiled memory of each of :func:`estimators`, for each K.

    Each computation is compiled once per K (``jax.jit(f).lower(u).compile()``),
    then timed by :func:`_median_time` (at least ``repeats`` calls) and measured by
    :func:`_peak_memory`.

    Args:
      update, x0, u, v, w: as in :func:`estimators`.
      steps: increasing iteration counts K >= 1.
      repeats: timed calls per measurement (after one warm-up call).
      workers: compilations run in this many threads (:func:`_compile_all`); each
        program is then timed alone.

    Returns:
      A :class:`_Profile`; ``seconds`` and ``bytes`` map each name of
      :data:`_ESTIMATORS` to an array of shape ``(len(steps),)``. Chapter 2.
    """
    steps = [_validate.num_steps(K, "steps[i]") for K in steps]
    seconds = {name: [] for name in _ESTIMATORS}
    memory = {name: [] for name in _ESTIMATORS}
    jobs = [(name, fn) for K in steps for name, fn in estimators(update, x0, u, K, v, w).items()]
    programs = _compile_all([(fn, u) for _, fn in jobs], workers)
    for (name, _), compiled in zip(jobs, programs):
        seconds[name].append(_median_time(compiled, u, repeats=repeats))
        memory[name].append(_peak_memory(compiled))
    return _Profile(np.asarray(steps),
                   {name: np.asarray(t) for name, t in seconds.items()},
                   {name: np.asarray(m) for name, m in memory.items()})


def hypergradient_functions(f, update, x0, num_steps, outer=None):
    r"""The four computations timed in Bolte et al.'s Fig. 3, as functions of θ.

    With :math:`g(x) = \tfrac12\|x\|^2` (or ``outer``):

    * ``"solve"``: :math:`x_K(\theta)` only;
    * ``"unrolled"``: :math:`\nabla_\theta\, g(x_K(\theta))` by reverse mode through all K steps;
    * ``"implicit"``: solve, then :math:`-(\partial_\theta\nabla_x f)^\top [\nabla^2_{xx}f]^{-1}\nabla g(x_K)`
      (:func:`implicit_from_gradient` with a cotangent);
    * ``"one-step"``: reverse mode through :func:`truncated_solution` (last = 1).

    Returns:
      dict name -> function of θ (jit them). Chapter 4.
    """
    outer = (lambda x: 0.5 * x @ x) if outer is None else outer
    solve = truncated_solution(update, x0, num_steps, last=num_steps)
    one_step = truncated_solution(update, x0, num_steps, last=1)

    def implicit(theta):
        x = lax.stop_gradient(solve(theta))
        return implicit_from_gradient(f, x, theta, w=jax.grad(outer)(x))

    return {"solve": solve,
            Unrolled.name: jax.grad(lambda th: outer(solve(th))),
            Implicit.name: implicit,
            OneStep.name: jax.grad(lambda th: outer(one_step(th)))}


def time_hypergradients(cases, num_steps, repeats=5, workers=2):
    r"""Wall time of the four :func:`hypergradient_functions` for each problem (Bolte Fig. 3).

    Args:
      cases: list of ``(f, update, x0, theta)``.
      num_steps: solver iterations K; repeats: timed calls per measurement.
      workers: compilations run in this many threads (:func:`unrolling.profiling._compile_all`),
        then every program is timed alone by :func:`unrolling.profiling._median_time`.

    Returns:
      dict name -> list of seconds, one per case. Wall times vary between runs and
      machines. Chapter 4.
    """
    jobs = [(name, fn, theta) for f, update, x0, theta in cases
            for name, fn in hypergradient_functions(f, update, x0, num_steps).items()]
    programs = _compile_all([job[1:] for job in jobs], workers)
    seconds = {}
    for (name, _, theta), program in zip(jobs, programs):
        seconds.setdefault(name, []).append(_median_time(program, theta, repeats=repeats))
    return seconds


def _compiled_bytes(fn, u):
    return _peak_memory(jax.jit(fn, compiler_options=FAST_COMPILE).lower(u).compile())


def reverse_memory_bytes(update, x0, u, num_steps, stop, w):
    r"""Compiled memory of truncated reverse mode: :math:`w^\top` times the derivative of
    :math:`x^{(K)}(u)` through its last K - T' steps (T' = ``stop``), as deployed:
    ``jax.vjp`` of :func:`unrolling.derivatives.truncated_solution`.

    :func:`unrolling.profiling._peak_memory` (temporaries plus outputs of the compiled
    program; deterministic). The backward pass needs the iterates of the differentiated
    steps, so the count grows linearly in K - T' (chapter 4).
    """
    K = _validate.num_steps(num_steps)
    solution = truncated_solution(update, x0, K, last=K - _validate.index(stop, K, "stop"))
    return _compiled_bytes(lambda u_: jax.vjp(solution, u_)[1](w), u)


def forward_memory_bytes(update, x0, u, num_steps, start, v):
    r"""Compiled memory of late-started forward mode, as deployed: ``jax.jvp`` of
    :func:`unrolling.derivatives.truncated_solution` with tangent v. The tangent travels
    with the iterate, so the count does not grow with K - T' (chapter 4)."""
    K = _validate.num_steps(num_steps)
    solution = truncated_solution(update, x0, K, last=K - _validate.index(start, K, "start"))
    return _compiled_bytes(lambda u_: jax.jvp(solution, (u_,), (v,))[1], u)


class _Cost(NamedTuple):
    """One estimator's measured cost: median wall time (s), compiled bytes, its estimate."""
    seconds: float
    bytes: int
    value: object


def _estimator_programs(estimator, update, x0, u, K, w):
    """The compiled computations of ``estimator.vjp`` at K steps, as functions of u.

    One program for estimators that trace; two for :class:`unrolling.Adaptive`, whose
    start T is read from concrete iterates: the run that chooses T (it keeps the path),
    then ``Truncated(K - T)``, which is its derivative pass.
    """
    if not hasattr(estimator, "vjp"):
        raise TypeError(f"estimators must be estimator values such as Unrolled() or "
                        f"Truncated(k), got {estimator!r}")
    if hasattr(estimator, "given_up"):           # Adaptive: two passes
        from ._adaptive import flat_path
        from .derivatives import iterate
        T = estimator.start(update, x0, u, K)
        return [lambda u_: estimator.given_up(flat_path(iterate(update, x0, u_, K)), K),
                lambda u_: Truncated(K - T).vjp(update, x0, u_, K, w)]
    return [lambda u_: estimator.vjp(update, x0, u_, K, w)]


def estimator_costs(estimators, update, x0, u, num_steps, w, repeats=5, workers=2):
    r"""Measured cost of each estimator's vector-Jacobian product :math:`w^\top Dx(u)`.

    Each estimator's ``vjp(update, x0, u, num_steps, w)`` is compiled
    (:func:`_compile_all`), timed by :func:`_median_time` and measured by
    :func:`_peak_memory` (temporaries plus outputs of the compiled program: deterministic
    for a JAX version, unlike the time). :class:`unrolling.Adaptive` chooses its start T
    from concrete iterates, so it is measured as its two passes: the run that chooses T
    and ``Truncated(K - T)``; their times add, and its memory is the larger of the two.

    Args:
      estimators: estimator values (``Unrolled()``, ``Truncated(k)``, ``Implicit()``, ...).
      update, x0, u: as in :func:`unrolling.iterate`; w: the cotangent (x's structure).
      num_steps: K >= 1; repeats: timed calls per program (after one warm-up call).

    Returns:
      dict ``str(estimator)`` -> ``(seconds, bytes, value)``. Wall times vary between
      runs and machines. Appendix (practitioner's guide).
    """
    K = _validate.num_steps(num_steps)
    if K < 1:
        raise ValueError(f"num_steps must be >= 1, got {K}")
    estimators = list(estimators)
    if not estimators:
        raise ValueError("estimators must list at least one estimator value")
    x0, u, _, w = _validate.inputs(x0, u, w=w)
    parts = [_estimator_programs(est, update, x0, u, K, w) for est in estimators]
    programs = iter(_compile_all([(fn, u) for fns in parts for fn in fns], workers))
    costs = {}
    for est, fns in zip(estimators, parts):
        compiled = [next(programs) for _ in fns]
        costs[str(est)] = _Cost(sum(_median_time(c, u, repeats=repeats) for c in compiled),
                                max(_peak_memory(c) for c in compiled), compiled[-1](u))
    return costs
