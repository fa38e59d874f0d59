"""Time and memory of the library's derivative estimators (issue 2; Bolte et al. Table 2).

Gradient descent on least squares f(x, (A, b)) = ||Ax - b||^2 / 2 with N = n = 100
unknowns (A of shape (200, 100) from ``least_squares_instance``, a fixed key),
step 1/L, K = 2000 iterations. Side by side, each jitted, warmed up, then the
median of REPEATS runs timed round robin (``block_until_ready``):

* solve      the K-step solve, ``iterate(...)[-1]``;
* forward    ``forward_mode`` with one tangent v (shape of u = (A, b));
* reverse    ``reverse_mode`` with one cotangent w (shape of x);
* implicit   solve + ``implicit_jacobian`` with w;
* one-step   solve + ``one_step_jacobian`` at x^(K-1) with w;

each printed in seconds and as a ratio to the solve, with PASS/OVER against the
issue's budgets (printed, not asserted: the machine is shared, ratios are
indicative). Then reverse mode's memory for K - T in {500, 1000, 2000} (T = stop)
from XLA's compiled memory analysis, which is deterministic.

Run: ``.venv/bin/python benchmarks/library.py``.
"""
import statistics
import time

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

import unrolling as U  # noqa: E402
from unrolling import problems  # noqa: E402
from unrolling import data  # noqa: E402

M, N, K, REPEATS = 200, 100, 2000, 9
BUDGETS = {"forward": 3.0, "reverse": 4.0, "implicit": 1.5, "one-step": 1.2}


def setup():
    """The least-squares instance, GD update, x0, u and random directions v, w."""
    key_u, key_v, key_w = jax.random.split(jax.random.PRNGKey(2), 3)
    u = data.least_squares_instance(key_u, M, N)
    problem = problems.least_squares()
    update = U.gradient_descent(problem.f, 1.0 / problem.smoothness(u))
    v = (jax.random.normal(key_v, (M, N)), jax.random.normal(key_v, (M,)))
    w = jax.random.normal(key_w, (N,))
    return update, jnp.zeros(N), u, v, w


def estimators(update, x0):
    """name -> function of (u, v, w), each to be jitted."""
    def solve(u, v, w):
        return U.iterate(update, x0, u, K)[-1]

    def forward(u, v, w):
        return U.forward_mode(update, x0, u, K, v=v)[-1]

    def reverse(u, v, w):
        return U.reverse_mode(update, x0, u, K, w=w)[-1]

    def implicit(u, v, w):
        x_K = solve(u, v, w)
        return x_K, U.implicit_jacobian(update, x_K, u, w=w)

    def one_step(u, v, w):  # x^(K) = A(x^(K-1)) and w^T d_u A(x^(K-1), u)
        x_prev = U.iterate(update, x0, u, K - 1)[-1]
        return update(x_prev, u), U.one_step_jacobian(update, x_prev, u, w=w)

    def jax_jvp(u, v, w):  # reference: JAX's own forward mode through the loop
        return jax.jvp(lambda u: solve(u, v, w), (u,), (v,))[1]

    def jax_vjp(u, v, w):  # reference: JAX's own reverse mode through the loop
        return jax.vjp(lambda u: solve(u, v, w), u)[1](w)

    return {"solve": solve, "forward": forward, "reverse": reverse,
            "implicit": implicit, "one-step": one_step,
            "jax.jvp": jax_jvp, "jax.vjp": jax_vjp}


def median_times(fns, args):
    """Median wall time of each jitted function after a warm-up call.

    The functions are timed in turn within each repeat (round robin), so that a
    burst of load on the shared machine affects all of them alike."""
    for fn in fns.values():
        jax.block_until_ready(fn(*args))
    times = {name: [] for name in fns}
    for _ in range(REPEATS):
        for name, fn in fns.items():
            start = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def timings(update, x0, args):
    """Print seconds, ratio to the solve and PASS/OVER for each estimator."""
    fns = {name: jax.jit(fn) for name, fn in estimators(update, x0).items()}
    seconds = median_times(fns, args)
    print(f"GD on least squares, A: {M}x{N}, K = {K}, median of {REPEATS} runs")
    for name, sec in seconds.items():
        ratio = sec / seconds["solve"]
        verdict = "" if name not in BUDGETS else (
            f"budget <= {BUDGETS[name]:g}x  " + ("PASS" if ratio <= BUDGETS[name] else "OVER"))
        if name.startswith("jax."):
            verdict = "(reference: JAX autodiff through iterate(...)[-1])"
        print(f"  {name:9s} {sec * 1e3:9.2f} ms  {ratio:6.2f}x  {verdict}")


def reverse_memory(update, x0, u, w):
    """XLA's memory analysis of jitted reverse mode for K - T differentiated steps."""
    print("reverse mode (with w), compiled memory analysis, K' = K - T differentiated steps:")
    for steps in (500, 1000, 2000):
        def f(u, w, steps=steps):
            return U.reverse_mode(update, x0, u, K, stop=K - steps, w=w)[-1]
        mem = jax.jit(f).lower(u, w).compile().memory_analysis()
        if mem is None:
            print("  memory_analysis() is not available on this backend")
            return
        total = mem.temp_size_in_bytes + mem.output_size_in_bytes + mem.argument_size_in_bytes
        print(f"  K - T = {steps:5d}: temp {mem.temp_size_in_bytes / 2**20:6.2f} MiB, "
              f"args {mem.argument_size_in_bytes / 2**20:4.2f} MiB, "
              f"out {mem.output_size_in_bytes / 2**20:5.3f} MiB, total {total / 2**20:6.2f} MiB"
              f"  (stored iterates (K - T) n 8 B = {steps * N * 8 / 2**20:4.2f} MiB)")
    print("  temp is the scratch memory XLA allocates for the compiled program (buffer\n"
          "  assignment, decided at compile time): a deterministic figure for the whole\n"
          "  program, not a measured peak RSS; here it is the stored iterates plus O(n + p).")


def main():
    update, x0, u, v, w = setup()
    timings(update, x0, (u, v, w))
    reverse_memory(update, x0, u, w)


if __name__ == "__main__":
    main()
