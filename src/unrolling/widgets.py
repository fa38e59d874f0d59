"""The interactive explorers of the chapters (ipywidgets), one per chapter.

``widgets.chN_..._explorer()`` returns chapter N's explorer: sliders above a figure
that every slider move updates in place. Where a chapter also shows the explorer's
default state as a static figure, ``widgets.chN_...(**values)`` draws that figure (it
is the explorer's draw function; ``fig=`` updates a figure it drew). The live-figure
machinery (layer-cached drawing, PNG encoding, the registry the benchmark and the
tests drive) is private, in ``unrolling._live``.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import _live, plotting

# --- The numerical modules the explorers use: the one place to update when they move ---
from . import _jax, bilevel, bounds, curse, data, derivatives, errors, methods, problems  # noqa: E402
from . import designing, implicit, truncation  # noqa: E402

__all__ = ["ch1_contraction", "ch1_contraction_explorer", "ch2_unrolling_errors_explorer",
           "ch3_curse", "ch3_curse_explorer", "ch4_truncation", "ch4_truncation_explorer",
           "ch5_bilevel", "ch5_bilevel_explorer", "ch6_worst_case", "ch6_worst_case_explorer",
           "ch7_matched_cost", "ch7_matched_cost_explorer"]


def _control(kind, description, **kwargs):
    """An ipywidgets control of class ``kind`` ("FloatSlider", "ToggleButton", ...)."""
    import ipywidgets as w
    return getattr(w, kind)(description=description, **kwargs)


# --- Chapter 1: contraction explorer ----------------------------------------------

#: Chapter 1 explorer: dimension and number of iterations of its quadratic.
_CH1_DIM, _CH1_STEPS = 20, 100


def _ch1_spectrum(condition_number):
    """Eigenvalues geometrically spaced in [1/κ, 1] (L = 1, μ = 1/κ)."""
    return np.geomspace(1.0 / float(condition_number), 1.0, _CH1_DIM)


@jax.jit
def _ch1_errors(step_sizes, eigenvalues):
    r"""Iterate errors of gradient descent, one row per step size, on
    :math:`f(x) = \tfrac12 x^\top \mathrm{diag}(\lambda) x - \lambda^\top x`
    (so :math:`x^\star = \mathbf 1`) from :math:`x^{(0)} = 0`. Jit-compiled once."""
    problem = problems.quadratic(jnp.diag(eigenvalues), eigenvalues)
    x0, x_star = jnp.zeros_like(eigenvalues), problem.x_star(0.0)

    def errs(alpha):
        update = methods.gradient_descent(problem.f, alpha)
        return errors.iterate_errors(derivatives.iterate(update, x0, 0.0, _CH1_STEPS), x_star)
    return jax.vmap(errs)(step_sizes)


@_live.register("ch1_contraction", defaults=dict(step_fraction=0.5, condition_number=30.0),
                variations=[dict(step_fraction=0.9, condition_number=30.0),
                            dict(step_fraction=0.5, condition_number=1000.0),
                            dict(step_fraction=1.05, condition_number=10.0)])
def ch1_contraction(step_fraction=0.5, condition_number=30.0, fig=None):
    r"""The chapter 1 explorer's figure: gradient descent on a quadratic with spectrum in
    [1/κ, 1] (chapter 1 shows its default state).

    The step size is :math:`\alpha = s \cdot 2/L` (s = ``step_fraction``; L = 1,
    μ = 1/κ with κ = ``condition_number``). Draws the iterate error
    :math:`e^{(k)}`, the bound :math:`\rho(\alpha)^k e^{(0)}` (dashed, same colour;
    :func:`unrolling.bounds.iterate_bound`) and, for reference, the error with the
    optimal step :math:`2/(L + \mu)`. For s >= 1, ρ >= 1 and the iteration diverges.
    """
    lam = _ch1_spectrum(condition_number)
    L, mu = 1.0, float(lam[0])
    alpha, alpha_opt = 2.0 * step_fraction / L, 2.0 / (L + mu)
    errs = np.asarray(_ch1_errors(jnp.asarray([alpha, alpha_opt]), jnp.asarray(lam)))
    rho, k = float(bounds.gd_contraction(alpha, L, mu)), np.arange(_CH1_STEPS + 1)
    bound = np.asarray(bounds.iterate_bound(k, rho, errs[0, 0]))
    chosen, best = plotting._family(2)
    # Labels that change with the sliders are plain text: parsing new mathtext
    # strings would dominate the update time.
    return _live.curves_figure(
        [(f"α = {step_fraction:.2f} · 2/L", k, errs[0], dict(color=chosen)),
         (r"$\alpha = 2/(L+\mu)$", k, errs[1], dict(color=best)),
         (r"$\rho(\alpha)^k e^{(0)}$", k, bound, dict(color=chosen, linestyle="--"))],
        f"κ = {condition_number:.0f},  ρ(α) = {rho:.4f}", fig=fig,
        ylabel=r"$\|x^{(k)} - x^\star\|$")


def ch1_contraction_explorer():
    """The chapter 1 explorer: sliders for the step size (fraction of 2/L) and κ."""
    return _live.explorer(
        ch1_contraction,
        frames=dict(step_fraction=[0.25, 0.5, 0.75, 0.95, 1.05], condition_number=[30.0, 1000.0]),
        step_fraction=_control("FloatSlider", "α · L/2", value=0.5, min=0.05, max=1.05,
                               step=0.05),
        # a selection, so that the readout shows the κ the title shows (a log slider
        # would show its grid's 31.6 for 30)
        condition_number=_control("SelectionSlider", "κ = L/μ", value=30.0,
                                  options=[3.0, 10.0, 30.0, 100.0, 300.0, 1000.0]))


# --- Chapter 2: a first look at the derivative error ------------------------------

#: Chapter 2 explorer: ridge regression on scikit-learn's diabetes data (as in
#: chapter 1) with weight _CH2_WEIGHT, gradient descent for _CH2_STEPS iterations.
_CH2_WEIGHT, _CH2_STEPS = 0.1, 200


def _ch2_errors_fn(init_scale, step_fraction):
    r"""Iterate and forward-mode derivative errors of gradient descent on ridge.

    :math:`f(x, u) = \tfrac12\|Ax - b\|^2 + \tfrac u2\|x\|^2` on the diabetes data
    (u = ``_CH2_WEIGHT``), step :math:`\alpha = s \cdot 2/(L + \mu)`, start
    :math:`x^{(0)} = c\,\mathbf 1` (c = ``init_scale``); returns
    :math:`(e^{(k)}, \dot e^{(k)})_{k \le K}`.
    """
    from sklearn.datasets import load_diabetes
    A, b = load_diabetes(return_X_y=True)
    problem, u = problems.ridge(jnp.asarray(A), jnp.asarray(b)), _CH2_WEIGHT
    alpha = step_fraction * 2.0 / (problem.smoothness(u) + problem.strong_convexity(u))
    update, x0 = methods.gradient_descent(problem.f, alpha), init_scale * jnp.ones(A.shape[1])
    e = errors.iterate_errors(derivatives.iterate(update, x0, u, _CH2_STEPS), problem.x_star(u))
    e_dot = errors.derivative_errors(derivatives.forward_mode(update, x0, u, _CH2_STEPS),
                                     problem.jacobian(u))
    return e, e_dot


_CH2_ERRORS = None


def _ch2_errors(init_scale, step_fraction):
    """:func:`_ch2_errors_fn`, jit-compiled on first use (compiled once per session)."""
    global _CH2_ERRORS
    if _CH2_ERRORS is None:
        _CH2_ERRORS = jax.jit(_ch2_errors_fn)
    return _CH2_ERRORS(float(init_scale), float(step_fraction))


@_live.register("ch2_unrolling_errors", defaults=dict(init_scale=0.0, step_fraction=1.0),
                variations=[dict(init_scale=1000.0, step_fraction=1.0),
                            dict(init_scale=0.0, step_fraction=0.5),
                            dict(init_scale=100.0, step_fraction=1.0)])
def _ch2_unrolling_errors(init_scale=0.0, step_fraction=1.0, fig=None):
    r"""The chapter 2 explorer's figure: iterate error and derivative error of unrolled
    gradient descent, the peak of the derivative error marked (dotted).

    Ridge regression in its weight u (``_CH2_WEIGHT``) on the diabetes data of
    chapter 1, x0 = ``init_scale`` times the all-ones vector, step size
    ``step_fraction`` times 2/(L + μ), K = ``_CH2_STEPS``; the derivative is the
    forward-mode Jacobian :math:`\dot X^{(k)}` against the closed form :math:`Dx^\star`.
    """
    e, e_dot = (np.asarray(a) for a in _ch2_errors(init_scale, step_fraction))
    k, peak = np.arange(len(e)), int(np.argmax(e_dot))
    # The title changes with the sliders: plain text, not mathtext (faster updates).
    return _live.curves_figure(
        [(r"iterate $\|x^{(k)} - x^\star\|$", k, e, plotting._role_kw("iterate")),
         (r"derivative $\|\dot X^{(k)} - Dx^\star\|$", k, e_dot, plotting._role_kw("forward")),
         ("peak of the derivative error", [peak, peak], [0.0, 1.0],
          dict(vline=True, color="0.4", linestyle=":", linewidth=1.2))],
        f"x⁽⁰⁾ = {init_scale:.3g} · 1,  α = {step_fraction:.2f} · 2/(L + μ)", fig=fig)


def ch2_unrolling_errors_explorer():
    """The chapter 2 explorer: sliders for the initialization scale and the step size."""
    return _live.explorer(
        _ch2_unrolling_errors,
        frames=dict(init_scale=[-500.0, 0.0, 500.0, 1500.0], step_fraction=[0.5, 1.0]),
        init_scale=_control("FloatSlider", "x0 scale", value=0.0, min=-500.0, max=1500.0,
                            step=100.0),
        step_fraction=_control("FloatSlider", "α (L+μ)/2", value=1.0, min=0.1, max=1.0,
                               step=0.05))


# --- Chapter 3: the curse of unrolling explorer -----------------------------------

#: Chapter 3 explorer: iterations and dimension of its spectral quadratic (fixed, so
#: that the jitted computation compiles once), and the key drawing its basis and x0.
_CH3_STEPS, _CH3_DIM, _CH3_SEED = 500, 20, 0

#: :func:`unrolling.curse._explorer_curves`, compiled once (sliders are traced).
_CH3_CURVES = jax.jit(curse._explorer_curves, static_argnames=("num_steps", "dim"),
                      compiler_options=_jax.FAST_COMPILE)


@_live.register("ch3_curse", defaults=dict(step_scale=1.9, log10_cond=2.0, init_scale=1.0),
                variations=[dict(step_scale=1.0, log10_cond=2.0, init_scale=1.0),
                            dict(step_scale=1.9, log10_cond=3.0, init_scale=1.0),
                            dict(step_scale=1.9, log10_cond=2.0, init_scale=0.0),
                            dict(step_scale=1.3, log10_cond=1.5, init_scale=5.0)])
def ch3_curse(step_scale=1.9, log10_cond=2.0, init_scale=1.0, fig=None):
    r"""The chapter 3 explorer's figure: the curse of unrolling for gradient descent on a
    quadratic (chapter 3 shows its default state).

    :func:`unrolling.curse._explorer_curves`: spectrum geometric in
    :math:`[10^{-c}, 1]` (c = ``log10_cond``, so L = 1 and κ = :math:`10^c`),
    flat-derivative solution weights, step α = ``step_scale`` / L, and
    :math:`x^{(0)} = x^\star + \sigma\|x^\star\| d` (σ = ``init_scale``, d a fixed random
    unit vector). Draws :math:`e^{(k)}`, :math:`\dot e^{(k)}`, the iterate bound
    :math:`\rho^k e^{(0)}` (Mehmood et al.'s eq. 8) and Mehmood et al.'s Theorem 7 bound
    with Γ = α (dashed), the peak :math:`\dot k` dotted.
    """
    data = _CH3_CURVES(jax.random.PRNGKey(_CH3_SEED), float(step_scale), float(log10_cond),
                       float(init_scale), num_steps=_CH3_STEPS, dim=_CH3_DIM)
    data = {name: np.asarray(value) for name, value in data.items()}
    k, k_dot = np.arange(len(data["iterate"])), float(data["k_dot"])
    iterate, forward = plotting._role_kw("iterate"), plotting._role_kw("forward")
    dashed = dict(linestyle="--", linewidth=1.2, marker=None)
    return _live.curves_figure(
        [("iterate error", k, data["iterate"], iterate),
         ("forward-mode error", k, data["forward"], forward),
         (r"$\rho^k e^{(0)}$", k, data["iterate_bound"], {**iterate, **dashed}),
         ("Mehmood et al., Thm 7", k, data["theorem7"], {**forward, **dashed}),
         (None, [k_dot, k_dot], [0.0, 1.0],
          dict(vline=True, color=forward["color"], linestyle=":", linewidth=1.2))],
        f"αL = {step_scale:.2f}, κ = {10 ** log10_cond:.0f}, σ = {init_scale:.2g}, "
        f"ρ = {float(data['rho']):.4f}", fig=fig, ylim=(1e-8, None), xlim=(0, k[-1]),
        xlabel="iteration k (dotted: peak of the forward-mode error)", ncols=2)


def ch3_curse_explorer():
    """The chapter 3 explorer: sliders for the step size, the condition number and σ."""
    return _live.explorer(
        ch3_curse,
        frames=dict(step_scale=[0.5, 1.0, 1.5, 1.9], init_scale=[0.0, 1.0, 10.0]),
        step_scale=_control("FloatSlider", "α · L", value=1.9, min=0.1, max=1.98, step=0.02),
        log10_cond=_control("FloatSlider", "log10 κ", value=2.0, min=1.0, max=3.0, step=0.1),
        init_scale=_control("FloatSlider", "σ", value=1.0, min=0.0, max=10.0, step=0.25))


# --- Chapter 4: truncation under a fixed budget ------------------------------------

#: Chapter 4 explorer: the chapter's demo quadratic, K = _CH4_STEPS derivative steps
#: without truncation, ω at most _CH4_OMEGA_MAX (the horizon, and so the compiled
#: program, does not depend on the sliders).
_CH4_STEPS, _CH4_OMEGA_MAX = 200, 4.0


@_live.register("ch4_truncation", defaults=dict(T=40, omega=3.0),
                variations=[dict(T=0, omega=3.0), dict(T=80, omega=3.0),
                            dict(T=40, omega=1.0), dict(T=150, omega=4.0)])
def ch4_truncation(T=40, omega=3.0, fig=None):
    r"""The chapter 4 explorer's figure: give up T of K derivative steps and spend ωT on the
    algorithm (chapter 4 shows its default state).

    ``budget_curves`` of the chapter 4 module on its demo quadratic (K = ``_CH4_STEPS``):
    iterate errors, forward mode without truncation (0 to K) against the late start at
    :math:`T' = T + \lfloor\omega T\rfloor` run to :math:`K' = K + \lfloor\omega T\rfloor`,
    its Theorem 8 bound (dashed) and both final errors (dots).
    """
    data = truncation.budget_curves(truncation.demo_quadratic(), int(T), float(omega),
                                    _CH4_STEPS, _CH4_OMEGA_MAX)
    k, K_prime = np.arange(len(data["iterate"])), data["K_prime"]
    final, final_late = data["full"][_CH4_STEPS], data["late"][K_prime]
    late = plotting._role_kw("truncated")
    return _live.curves_figure(
        [(r"$e^{(k)}$", k, data["iterate"], dict(plotting._role_kw("iterate"), linewidth=1)),
         (f"no truncation (K = {_CH4_STEPS})", k, data["full"], plotting._role_kw("forward")),
         (f"T' = {data['T_prime']}, K' = {K_prime}", k, data["late"], late),
         ("Theorem 8", k, data["bound"], dict(late, linestyle="--", linewidth=1.2, marker=None)),
         (None, [_CH4_STEPS, K_prime], [final, final_late],
          dict(color=plotting.COLORS["bound"], marker="o", linestyle="none", markersize=4))],
        f"T = {T}, ω = {omega:g}: final error {final_late:.3g} vs {final:.3g}", fig=fig,
        xlim=(0, k[-1]), fontsize=7)


def ch4_truncation_explorer():
    """The chapter 4 explorer: sliders for the truncation T and the cost ratio ω."""
    return _live.explorer(
        ch4_truncation,
        frames=dict(T=[0, 40, 80, 120, 160, 190], omega=[1.0, 3.0]),
        T=_control("IntSlider", "T", value=40, min=0, max=_CH4_STEPS, step=5),
        omega=_control("FloatSlider", "ω", value=3.0, min=0.5, max=_CH4_OMEGA_MAX, step=0.5))


# --- Chapter 5: warm-starting and bilevel optimization ----------------------------

#: Chapter 5 explorer: the chapter's synthetic ridge task (data key _CH5_DATA_KEY), a
#: poor cold start x0 = _CH5_X0_SCALE * N(0, I) (key _CH5_X0_KEY), _CH5_OUTER outer steps
#: from u0 = 0 with unrolled hypergradients, at most _CH5_MAX_INNER inner steps.
_CH5_DATA_KEY, _CH5_X0_KEY, _CH5_X0_SCALE, _CH5_OUTER, _CH5_MAX_INNER = 1, 2, 30.0, 40, 2000
#: Fixed y-limits of the explorer's three panels (K_r, hypergradient error, h(u)), so that
#: settings compare at a glance; they hold the curves over most of the sliders' range.
_CH5_YLIMS = ((0.7, 1.5 * _CH5_MAX_INNER), (1e-14, 1e4), (165.0, 250.0))


def _ch5_setup():
    """The chapter 5 synthetic task and its poor cold start: ``(task, x0)``."""
    task = bilevel.ridge_task(*data.synthetic_regression(jax.random.PRNGKey(_CH5_DATA_KEY)))
    shape = jax.eval_shape(task.x_star, 0.0).shape
    x0 = _CH5_X0_SCALE * jax.random.normal(jax.random.PRNGKey(_CH5_X0_KEY), shape)
    return task, x0


@_live.register("ch5_bilevel", defaults=dict(step_size=0.02, eps=1e-4, warm_start=True),
                variations=[dict(step_size=0.02, eps=1e-4, warm_start=False),
                            dict(step_size=0.02, eps=1e-2, warm_start=True),
                            dict(step_size=0.005, eps=1e-6, warm_start=True)])
def ch5_bilevel(step_size=0.02, eps=1e-4, warm_start=True, fig=None):
    r"""The chapter 5 explorer's figure: Algorithm 1 (unrolled hypergradients) on the
    synthetic ridge task (chapter 5 shows its default state).

    Outer step size τ = ``step_size``, inner tolerance ε = ``eps``, warm or cold
    start. Draws :func:`unrolling.plotting.bilevel_history_figure`: the inner
    iterations :math:`K_r`, the hypergradient error against the closed form and the
    exact outer loss :math:`h(u^{(r)})`, for ``_CH5_OUTER`` outer steps.
    """
    task, x0 = _ch5_setup()
    hist = bilevel.hypergradient_descent(
        task.update, task.outer_loss, x0, 0.0, step_size=float(step_size), eps=float(eps),
        num_outer=_CH5_OUTER, max_inner=_CH5_MAX_INNER, warm_start=bool(warm_start),
        reference=task.hypergradient, timed=False)      # one compiled loop: no per-step timing
    label = "unrolled, warm" if warm_start else "unrolled, cold"
    values = bilevel.evaluate_along(task.value, hist.u[:, 0])
    bad = np.flatnonzero(~np.isfinite(values))
    outcome = (f"diverged: h(u) is not finite from r = {bad[0]} on" if bad.size else
               f"{sum(hist.inner_steps)} inner iterations in total")
    return plotting.bilevel_history_figure(
        {label: hist}, {label: values},
        title=f"\u03c4 = {float(step_size):.3g}, \u03b5 = {float(eps):.0e}, {outcome}",
        fig=fig, ylims=_CH5_YLIMS)


def ch5_bilevel_explorer():
    """The chapter 5 explorer: outer step size, inner tolerance, warm or cold start."""
    return _live.explorer(
        ch5_bilevel,
        frames=dict(step_size=[0.005, 0.02, 0.08], eps=[1e-4, 1e-2], warm_start=[True, False]),
        step_size=_control("FloatLogSlider", "τ (outer)", value=0.02, base=10, min=-3,
                           max=-1, step=0.1),
        eps=_control("FloatLogSlider", "ε (inner)", value=1e-4, base=10, min=-8, max=-1,
                     step=0.5),
        warm_start=_control("ToggleButton", "warm start", value=True))


# --- Chapter 6: worst-case Jacobian factors of the methods against the lower bound ----

#: Chapter 6 explorer: the methods' colours (Okabe–Ito, in the order of
#: ``designing.worst_case_rates``) and line styles (Sobolev dash-dot: it nearly
#: coincides with Chebyshev).
_CH6_COLORS = ("#999999", "#D55E00", "#CC79A7", "#E69F00", "#0072B2", "#009E73")
_CH6_STYLES = ("-", "-", "-", "-", "-.", "-.")


@_live.register("ch6_worst_case", defaults=dict(condition_number=20.0, num_steps=100),
                variations=[dict(condition_number=100.0, num_steps=100),
                            dict(condition_number=1000.0, num_steps=300),
                            dict(condition_number=3.0, num_steps=50)])
def ch6_worst_case(condition_number=20.0, num_steps=100, fig=None):
    r"""The chapter 6 explorer's figure: Scieur et al.'s Fig. 3 on the spectrum [1, κ]
    (κ = ``condition_number``; the factors depend on κ only, so [0.5, 10] is κ = 20): the
    worst case over the spectrum of each method's Jacobian factor
    :math:`|P_t - \lambda P_t'|` and the lower bound of Prop. 1 (dashed), from
    :func:`unrolling.designing.worst_case_rates` (801 points)."""
    kappa = float(condition_number)
    rates = designing.worst_case_rates(kappa, 1.0, int(num_steps), num_grid=801)
    t = np.arange(int(num_steps) + 1)
    names = list(rates)
    lines = [(name, t, rates[name], dict(color=c, linewidth=1.4, linestyle=ls))
             for name, c, ls in zip(names[:-1], _CH6_COLORS, _CH6_STYLES)]
    lines.append((names[-1], t, rates[names[-1]],
                  dict(plotting._role_kw("bound"), linestyle="--", linewidth=1.2)))
    peaks = {name: float(rates[name].max()) for name in names[:-1]}
    worst = max(peaks, key=peaks.get)
    return _live.curves_figure(
        lines, f"κ = {kappa:g}: highest peak {peaks[worst]:.3g} ({worst})", fig=fig,
        ylim=(1e-6, None), xlim=(0, int(num_steps)), xlabel="iteration t",
        ylabel="worst-case factor", fontsize=7)


def ch6_worst_case_explorer():
    """The chapter 6 explorer: the condition number and the horizon."""
    return _live.explorer(
        ch6_worst_case,
        frames=dict(condition_number=[3.0, 10.0, 20.0, 100.0, 300.0, 1000.0],
                    num_steps=[50, 100]),
        condition_number=_control("SelectionSlider", "κ = L/ℓ", value=20.0,
                                  options=[3.0, 10.0, 20.0, 50.0, 100.0, 300.0, 1000.0]),
        num_steps=_control("IntSlider", "t max", value=100, min=20, max=300, step=20))


# --- Chapter 7: ITD against approximate implicit differentiation at matched cost --------

#: Chapter 7 explorer: budgets t (inner steps = solve steps), the data keys of its two
#: tasks (chapter 5's synthetic ridge task, logistic regression on two Gaussians) and of
#: the direction of the start x0 = σ d.
_CH7_STEPS = (1, 2, 5, 10, 20, 50, 100, 200, 400, 800)
_CH7_DATA_KEY, _CH7_X0_KEY = 1, 2


@functools.cache
def _ch7_task(logistic):
    """The explorer's task, built once per session (a constant: its compiled programs are
    cached on the task's update map, so a new task object would recompile them)."""
    if not logistic:
        return bilevel.ridge_task(*data.synthetic_regression(jax.random.PRNGKey(_CH7_DATA_KEY)))
    X, y = data.two_gaussians(jax.random.PRNGKey(_CH7_DATA_KEY), 200, 10)
    return implicit.logistic_task(X[:100], y[:100], X[100:], y[100:])


@_live.register("ch7_matched_cost", defaults=dict(init_scale=30.0, logistic=False),
                variations=[dict(init_scale=0.0, logistic=False),
                            dict(init_scale=30.0, logistic=True),
                            dict(init_scale=3.0, logistic=True)])
def ch7_matched_cost(init_scale=30.0, logistic=False, fig=None):
    r"""The chapter 7 explorer's figure: hypergradient errors of ITD, AID-FP and AID-CG
    with t inner and t solve steps (:func:`unrolling.implicit.matched_cost`), on chapter 5's
    synthetic ridge task or on logistic regression, from :math:`x_0 = \sigma d` (σ =
    ``init_scale``, d a fixed standard normal vector), at u = 0."""
    task = _ch7_task(bool(logistic))
    n = task.x_star(0.0).shape[0]
    x0 = float(init_scale) * jax.random.normal(jax.random.PRNGKey(_CH7_X0_KEY), (n,))
    errs = implicit.matched_cost(task, x0, 0.0, _CH7_STEPS)
    t = np.asarray(_CH7_STEPS, dtype=float)
    lines = [(label, t, np.maximum(e, 1e-16),
              dict(plotting._role_kw(label), linewidth=1.4, markersize=4))
             for label, e in errs.items()]
    fig = _live.curves_figure(
        lines, f"{'logistic regression' if logistic else 'ridge'}, σ = {init_scale:g}",
        fig=fig, xlim=(1, _CH7_STEPS[-1]), ylim=(1e-16, None),
        xlabel="budget t (inner steps = solve steps)", ylabel="hypergradient error",
        fontsize=7)
    fig.axes[0].set_xscale("log")
    return fig


def ch7_matched_cost_explorer():
    """The chapter 7 explorer: the start's distance σ and the task."""
    return _live.explorer(
        ch7_matched_cost,
        frames=dict(init_scale=[0.0, 1.0, 3.0, 10.0, 30.0, 100.0], logistic=[False, True]),
        init_scale=_control("SelectionSlider", "σ (start)", value=30.0,
                            options=[0.0, 1.0, 3.0, 10.0, 30.0, 100.0]),
        logistic=_control("ToggleButton", "logistic", value=False))
