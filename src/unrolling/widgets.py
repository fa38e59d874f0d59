"""Interactive explorers (ipywidgets) for the chapters.

Every explorer is built by :func:`explorer` from a function
``draw(**values, fig=None) -> Figure``: called without ``fig`` it draws a new figure
(the notebook shows the default state as a static figure this way), and given a figure
it drew before, it updates that figure in place (new line data, labels, limits). The
widget keeps one :class:`LiveFigure` per explorer, whose call is the whole work of a
slider move (compute, update in place, PNG bytes); the benchmark
(benchmarks/widgets.py) times exactly that call. Compute inside ``draw`` must be
jit-compiled once (keep jitted functions outside ``draw``) so that an update feels
instant; drawing a new figure at every move would cost several times the budget of
100 ms per update.
"""
import io

import jax
import jax.numpy as jnp
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from . import _jax, bounds, data, errors, methods, plotting, problems
from .derivatives import iterate

__all__ = ["explorer", "render", "png_bytes", "LiveFigure", "register", "EXPLORERS",
           "ch1_contraction",
           "ch1_contraction_explorer", "ch2_unrolling_errors", "ch2_unrolling_errors_explorer"]

#: name -> (draw, defaults, variations): every chapter explorer registers its draw
#: function here, with its default values and a few other settings, so the widget
#: benchmark (benchmarks/widgets.py) and the tests can drive a :class:`LiveFigure`.
EXPLORERS = {}


def register(name, defaults, variations):
    """Decorator recording ``draw`` in :data:`EXPLORERS` under ``name``."""
    def decorate(draw):
        EXPLORERS[name] = (draw, dict(defaults), [dict(v) for v in variations])
        return draw
    return decorate


def png_bytes(fig):
    """Rasterize ``fig`` with Agg (at its own dpi, as the widget shows it) to PNG bytes."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return _encode_png(canvas)


def render(fig):
    """Rasterize a figure to PNG bytes (:func:`png_bytes`) and close it."""
    png = png_bytes(fig)
    plt.close(fig)
    return png


class LiveFigure:
    """One explorer's figure, kept across slider moves.

    The first call ``live(**values)`` draws the figure, ``draw(**values)``; every later
    call updates it in place, ``draw(**values, fig=live.fig)``. Each call returns the PNG
    bytes of the picture: the same pixels as a full draw, painted in layers. Matplotlib
    paints each axes' x axis, then its y axis, then a legend set beneath the lines,
    before anything else; these layers (ticks, grid and texts: most of the time) are
    kept as pixels, and a call repaints from the first layer that changed (limits,
    ticks, labels, legend entries), then the rest (lines, titles, other legends). The
    figure is detached from pyplot, so the notebook does not show it a second time.
    """

    def __init__(self, draw):
        self.draw, self.fig = draw, None
        self._keys, self._pixels = [], []   # per kept layer: what it shows, pixels after it

    def __call__(self, **values):
        if self.fig is None:
            self.fig = self.draw(**values)
            plt.close(self.fig)
            FigureCanvasAgg(self.fig)
        else:
            self.draw(**values, fig=self.fig)
        return self._png()

    def _png(self):
        canvas, (layers, rest) = self.fig.canvas, _layers(self.fig)
        renderer, keys = canvas.get_renderer(), [_layer_key(layer) for layer in layers]
        kept = 0
        while kept < min(len(keys), len(self._keys)) and keys[kept] == self._keys[kept]:
            kept += 1
        changed = kept
        if kept == 0:   # the figure and axes backgrounds and the first layer, by Agg
            later = [artist for layer in layers[1:] for artist in layer] + rest
            for artist in later:
                artist.set_animated(True)
            try:
                canvas.draw()
            finally:
                for artist in later:
                    artist.set_animated(False)
            self._pixels, kept = [canvas.copy_from_bbox(self.fig.bbox)], 1
        canvas.restore_region(self._pixels[kept - 1])
        del self._pixels[kept:]
        for layer in layers[kept:]:
            for artist in layer:
                artist.draw(renderer)
            self._pixels.append(canvas.copy_from_bbox(self.fig.bbox))
        # keys after painting: painting can change a formatter's state, part of its key
        self._keys = keys[:changed] + [_layer_key(layer) for layer in layers[changed:]]
        for artist in rest:
            artist.draw(renderer)
        return _encode_png(canvas)


#: The layers a :class:`LiveFigure` keeps, in the order every axes paints them.
_LAYERS = (mpl.axis.XAxis, mpl.axis.YAxis, mpl.legend.Legend)


def _layers(fig):
    """``(layers, rest)``: per entry of :data:`_LAYERS`, the artists of that kind that their
    axes paint before anything else (in this order), and all other artists in the order
    a full draw paints them (axes by axes, then the figure's own texts). The axes do not
    overlap, so painting layer by layer across the axes gives the same pixels."""
    def by_zorder(artists):   # stable, as Figure.draw and Axes.draw sort
        return sorted(artists, key=lambda artist: artist.get_zorder())
    layers, rest = [[] for _ in _LAYERS], []
    for artist in by_zorder(a for a in fig.get_children() if a is not fig.patch):
        if not isinstance(artist, mpl.axes.Axes):
            rest.append(artist)
            continue
        children, level = by_zorder(a for a in artist.get_children() if a is not artist.patch), 0
        for i, child in enumerate(children):
            kinds = [k for k in range(level, len(_LAYERS)) if isinstance(child, _LAYERS[k])]
            if not kinds:
                rest += children[i:]
                break
            level = kinds[0]
            layers[level].append(child)
    return layers, rest


def _layer_key(layer):
    """What the pixels of a layer depend on: for an axis its limits, scale, ticks and
    label; for a legend its place, entries and their styles."""
    return [_axis_key(a) if isinstance(a, mpl.axis.Axis) else _legend_key(a) for a in layer]


def _axis_key(axis):
    # the ticks follow from the limits, the axis length and the locators and formatters
    def settings(ticker):
        return type(ticker), sorted((k, tuple(np.ravel(v).tolist()) if isinstance(v, np.ndarray)
                                     else v) for k, v in vars(ticker).items() if k != "axis")
    return (tuple(axis.get_view_interval()), axis.get_scale(), axis.label.get_text(),
            tuple(axis.axes.get_position().bounds),
            *(settings(t) for t in (axis.major.locator, axis.major.formatter,
                                    axis.minor.locator, axis.minor.formatter)))


def _legend_key(legend):
    renderer = legend.get_figure(root=True).canvas.get_renderer()
    return (tuple(legend.get_window_extent(renderer).bounds),
            tuple(text.get_text() for text in legend.get_texts()),
            tuple(_handle_style(handle) for handle in legend.legend_handles))


def _handle_style(handle):
    if isinstance(handle, mpl.lines.Line2D):
        return (handle.get_color(), handle.get_linestyle(), handle.get_linewidth(),
                handle.get_marker(), handle.get_markersize())
    return (type(handle).__name__, str(handle.properties()))


def _encode_png(canvas):
    """The canvas's pixels as PNG bytes, encoded by PIL at a low compression level
    (``savefig``'s default level takes several times longer for a file ~5% smaller)."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def explorer(draw, **controls):
    """A box of controls above an output area that a :class:`LiveFigure` refreshes.

    Args:
      draw: function of the control values returning a matplotlib Figure, which
        updates the figure given as ``fig=`` in place instead of drawing a new one.
      **controls: ipywidgets value widgets (sliders, toggles), keyed by ``draw``'s
        argument names.

    Returns:
      An ``ipywidgets.VBox``; the figure for the initial values is drawn at once,
      so the executed notebook embeds it in the widget state.
    """
    import ipywidgets as w
    from IPython.display import Image as PNGImage
    from IPython.display import display

    out, live = w.Output(), LiveFigure(draw)

    def update(change=None):
        png = live(**{name: c.value for name, c in controls.items()})
        with out:
            out.clear_output(wait=True)
            display(PNGImage(png))

    for control in controls.values():
        control.observe(update, names="value")
    update()
    return w.VBox([w.HBox(list(controls.values())), out])


# --- Chapter 1: contraction explorer ----------------------------------------------

#: Chapter 1 explorer: dimension and number of iterations of its quadratic.
CH1_DIM, CH1_STEPS = 20, 100


def _ch1_spectrum(condition_number):
    """Eigenvalues geometrically spaced in [1/κ, 1] (L = 1, μ = 1/κ)."""
    return np.geomspace(1.0 / float(condition_number), 1.0, CH1_DIM)


@jax.jit
def _ch1_errors(step_sizes, eigenvalues):
    r"""Iterate errors of gradient descent, one row per step size, on
    :math:`f(x) = \tfrac12 x^\top \mathrm{diag}(\lambda) x - \lambda^\top x`
    (so :math:`x^\star = \mathbf 1`) from :math:`x^{(0)} = 0`. Jit-compiled once."""
    problem = problems.quadratic(jnp.diag(eigenvalues), eigenvalues)
    x0, x_star = jnp.zeros_like(eigenvalues), problem.x_star(0.0)

    def errs(alpha):
        xs = iterate(methods.gradient_descent(problem.f, alpha), x0, 0.0, CH1_STEPS)
        return errors.iterate_errors(xs, x_star)
    return jax.vmap(errs)(step_sizes)


@register("ch1_contraction", defaults=dict(step_fraction=0.5, condition_number=30.0),
          variations=[dict(step_fraction=0.9, condition_number=30.0),
                      dict(step_fraction=0.5, condition_number=1000.0),
                      dict(step_fraction=1.05, condition_number=10.0)])
def ch1_contraction(step_fraction=0.5, condition_number=30.0, fig=None):
    r"""Chapter 1 explorer: gradient descent on a quadratic with spectrum in [1/κ, 1].

    The step size is :math:`\alpha = s \cdot 2/L` (s = ``step_fraction``; L = 1,
    μ = 1/κ with κ = ``condition_number``). Draws the iterate error
    :math:`e^{(k)}`, the bound :math:`\rho(\alpha)^k e^{(0)}` (dashed,
    :func:`unrolling.bounds.iterate_bound`) and, for reference, the error with the
    optimal step :math:`2/(L + \mu)`. For s >= 1, ρ >= 1 and the iteration diverges.
    The figure is :func:`unrolling.plotting.contraction_explorer_figure` (``fig``:
    update it in place).
    """
    lam = _ch1_spectrum(condition_number)
    L, mu = 1.0, float(lam[0])
    alpha, alpha_opt = 2.0 * step_fraction / L, 2.0 / (L + mu)
    errs = np.asarray(_ch1_errors(jnp.asarray([alpha, alpha_opt]), jnp.asarray(lam)))
    rho = float(bounds.gd_contraction(alpha, L, mu))
    bound = np.asarray(bounds.iterate_bound(np.arange(CH1_STEPS + 1), rho, errs[0, 0]))
    # Labels that change with the sliders are plain text: parsing new mathtext
    # strings would dominate the update time.
    return plotting.contraction_explorer_figure(
        {f"α = {step_fraction:.2f} · 2/L": errs[0], r"$\alpha = 2/(L+\mu)$": errs[1]},
        bounds={r"$\rho(\alpha)^k e^{(0)}$": bound},
        title=f"κ = {condition_number:.0f},  ρ(α) = {rho:.4f}", fig=fig)


def ch1_contraction_explorer():
    """The chapter 1 explorer: sliders for the step size (fraction of 2/L) and κ."""
    import ipywidgets as w
    return explorer(
        ch1_contraction,
        step_fraction=w.FloatSlider(value=0.5, min=0.05, max=1.05, step=0.05,
                                    description="α · L/2"),
        condition_number=w.FloatLogSlider(value=30.0, base=10, min=0.5, max=3.0, step=0.1,
                                          description="κ = L/μ"))


# --- Chapter 2: a first look at the derivative error ------------------------------

#: Chapter 2 explorer: ridge regression on scikit-learn's diabetes data (as in
#: chapter 1) with weight CH2_WEIGHT, gradient descent for CH2_STEPS iterations.
CH2_WEIGHT, CH2_STEPS = 0.1, 200


def _ch2_errors_fn(init_scale, step_fraction):
    r"""Iterate and forward-mode derivative errors of gradient descent on ridge.

    :math:`f(x, u) = \tfrac12\|Ax - b\|^2 + \tfrac u2\|x\|^2` on the diabetes data
    (u = ``CH2_WEIGHT``), step :math:`\alpha = s \cdot 2/(L + \mu)`, start
    :math:`x^{(0)} = c\,\mathbf 1` (c = ``init_scale``); returns
    :math:`(e^{(k)}, \dot e^{(k)})_{k \le K}`.
    """
    from sklearn.datasets import load_diabetes

    from .derivatives import forward_mode
    A, b = load_diabetes(return_X_y=True)
    problem, u = problems.ridge(jnp.asarray(A), jnp.asarray(b)), CH2_WEIGHT
    alpha = step_fraction * 2.0 / (problem.smoothness(u) + problem.strong_convexity(u))
    update, x0 = methods.gradient_descent(problem.f, alpha), init_scale * jnp.ones(A.shape[1])
    e = errors.iterate_errors(iterate(update, x0, u, CH2_STEPS), problem.x_star(u))
    e_dot = errors.derivative_errors(forward_mode(update, x0, u, CH2_STEPS),
                                     problem.jacobian(u))
    return e, e_dot


_CH2_ERRORS = None


def _ch2_errors(init_scale, step_fraction):
    """:func:`_ch2_errors_fn`, jit-compiled on first use (compiled once per session)."""
    global _CH2_ERRORS
    if _CH2_ERRORS is None:
        _CH2_ERRORS = jax.jit(_ch2_errors_fn)
    return _CH2_ERRORS(float(init_scale), float(step_fraction))


@register("ch2_unrolling_errors", defaults=dict(init_scale=0.0, step_fraction=1.0),
          variations=[dict(init_scale=1000.0, step_fraction=1.0),
                      dict(init_scale=0.0, step_fraction=0.5),
                      dict(init_scale=100.0, step_fraction=1.0)])
def ch2_unrolling_errors(init_scale=0.0, step_fraction=1.0, fig=None):
    r"""Chapter 2 explorer: iterate error and derivative error of unrolled gradient descent.

    Ridge regression in its weight u (``CH2_WEIGHT``) on the diabetes data of
    chapter 1, x0 = ``init_scale`` times the all-ones vector, step size
    ``step_fraction`` times 2/(L + μ), K = ``CH2_STEPS``.
    Draws :func:`unrolling.plotting.unrolling_errors_explorer_figure` (``fig``: update
    it); the derivative is the forward-mode Jacobian :math:`\dot X^{(k)}` against the
    closed form :math:`Dx^\star`.
    """
    e, e_dot = (np.asarray(a) for a in _ch2_errors(init_scale, step_fraction))
    # The title changes with the sliders: plain text, not mathtext (faster updates).
    return plotting.unrolling_errors_explorer_figure(
        e, e_dot, title=f"x⁽⁰⁾ = {init_scale:.3g} · 1,  α = {step_fraction:.2f} · 2/(L + μ)",
        fig=fig)


def ch2_unrolling_errors_explorer():
    """The chapter 2 explorer: sliders for the initialization scale and the step size."""
    import ipywidgets as w
    return explorer(
        ch2_unrolling_errors,
        init_scale=w.FloatSlider(value=0.0, min=-500.0, max=1500.0, step=100.0,
                                 description="x0 scale"),
        step_fraction=w.FloatSlider(value=1.0, min=0.1, max=1.0, step=0.05,
                                    description="α (L+μ)/2"))


# --- Chapter 5: warm-starting and bilevel optimization ----------------------------

#: Chapter 5 explorer: the chapter's synthetic ridge task (data key CH5_DATA_KEY), a
#: poor cold start x0 = CH5_X0_SCALE * N(0, I) (key CH5_X0_KEY), CH5_OUTER outer steps
#: from u0 = 0 with unrolled hypergradients, at most CH5_MAX_INNER inner steps.
CH5_DATA_KEY, CH5_X0_KEY, CH5_X0_SCALE, CH5_OUTER, CH5_MAX_INNER = 1, 2, 30.0, 40, 2000
#: Fixed y-limits of the explorer's three panels (K_r, hypergradient error, h(u)), so that
#: settings compare at a glance; they hold the curves over most of the sliders' range.
CH5_YLIMS = ((0.7, 1.5 * CH5_MAX_INNER), (1e-14, 1e4), (165.0, 250.0))


def ch5_setup():
    """The chapter 5 synthetic task and its poor cold start: ``(task, x0)``."""
    from . import bilevel
    task = bilevel.ridge_task(*data.synthetic_regression(jax.random.PRNGKey(CH5_DATA_KEY)))
    shape = jax.eval_shape(task.x_star, 0.0).shape
    x0 = CH5_X0_SCALE * jax.random.normal(jax.random.PRNGKey(CH5_X0_KEY), shape)
    return task, x0


@register("ch5_bilevel", defaults=dict(step_size=0.02, eps=1e-4, warm_start=True),
          variations=[dict(step_size=0.02, eps=1e-4, warm_start=False),
                      dict(step_size=0.02, eps=1e-2, warm_start=True),
                      dict(step_size=0.005, eps=1e-6, warm_start=True)])
def ch5_bilevel(step_size=0.02, eps=1e-4, warm_start=True, fig=None):
    r"""Chapter 5 explorer: Algorithm 1 (unrolled hypergradients) on the synthetic ridge task.

    Outer step size τ = ``step_size``, inner tolerance ε = ``eps``, warm or cold
    start. Draws :func:`unrolling.plotting.bilevel_history_figure`: the inner
    iterations :math:`K_r`, the hypergradient error against the closed form and the
    exact outer loss :math:`h(u^{(r)})`, for ``CH5_OUTER`` outer steps (``fig``: update it).
    """
    from . import bilevel
    task, x0 = ch5_setup()
    hist = bilevel.hypergradient_descent(
        task.update, task.outer_loss, x0, 0.0, step_size=float(step_size), eps=float(eps),
        num_outer=CH5_OUTER, max_inner=CH5_MAX_INNER, warm_start=bool(warm_start),
        reference=task.hypergradient, timed=False)      # one compiled loop: no per-step timing
    label = "unrolled, warm" if warm_start else "unrolled, cold"
    values = bilevel.evaluate_along(task.value, hist.u[:, 0])
    bad = np.flatnonzero(~np.isfinite(values))
    outcome = (f"diverged: h(u) is not finite from r = {bad[0]} on" if bad.size else
               f"{sum(hist.inner_steps)} inner iterations in total")
    return plotting.bilevel_history_figure(
        {label: hist}, {label: values},
        title=f"\u03c4 = {float(step_size):.3g}, \u03b5 = {float(eps):.0e}, {outcome}",
        fig=fig, ylims=CH5_YLIMS)


def ch5_bilevel_explorer():
    """The chapter 5 explorer: outer step size, inner tolerance, warm or cold start."""
    import ipywidgets as w
    return explorer(
        ch5_bilevel,
        step_size=w.FloatLogSlider(value=0.02, base=10, min=-3, max=-1, step=0.1,
                                   description="τ (outer)"),
        eps=w.FloatLogSlider(value=1e-4, base=10, min=-8, max=-1, step=0.5,
                             description="ε (inner)"),
        warm_start=w.ToggleButton(value=True, description="warm start"))


__all__ += ["ch5_setup", "ch5_bilevel", "ch5_bilevel_explorer"]


# --- Chapter 3: the curse of unrolling explorer -----------------------------------

#: Chapter 3 explorer: iterations and dimension of its spectral quadratic (fixed, so
#: that the jitted computation compiles once), and the key drawing its basis and x0.
CH3_STEPS, CH3_DIM, CH3_SEED = 500, 20, 0

from . import curse as _curse  # noqa: E402  (used by the chapter 3 block only)

#: :func:`unrolling.curse.explorer_curves`, compiled once (sliders are traced).
_CH3_CURVES = jax.jit(_curse.explorer_curves, static_argnames=("num_steps", "dim"),
                      compiler_options=_jax.FAST_COMPILE)


@register("ch3_curse", defaults=dict(step_scale=1.9, log10_cond=2.0, init_scale=1.0),
          variations=[dict(step_scale=1.0, log10_cond=2.0, init_scale=1.0),
                      dict(step_scale=1.9, log10_cond=3.0, init_scale=1.0),
                      dict(step_scale=1.9, log10_cond=2.0, init_scale=0.0),
                      dict(step_scale=1.3, log10_cond=1.5, init_scale=5.0)])
def ch3_curse(step_scale=1.9, log10_cond=2.0, init_scale=1.0, fig=None):
    r"""Chapter 3 explorer: the curse of unrolling for gradient descent on a quadratic.

    :func:`unrolling.curse.explorer_curves`: spectrum geometric in
    :math:`[10^{-c}, 1]` (c = ``log10_cond``, so L = 1 and the condition number κ = :math:`10^c`),
    flat-derivative solution weights, step α = ``step_scale`` / L, and
    :math:`x^{(0)} = x^\star + \sigma\|x^\star\| d` (σ = ``init_scale``, d a fixed random unit
    vector). Draws :func:`unrolling.plotting.explorer_figure`: :math:`e^{(k)}`,
    :math:`\dot e^{(k)}`, the iterate bound (8) and the Theorem 7 bound with Γ = α
    (``fig``: update it).
    """
    data = _CH3_CURVES(jax.random.PRNGKey(CH3_SEED), float(step_scale), float(log10_cond),
                       float(init_scale), num_steps=CH3_STEPS, dim=CH3_DIM)
    data = {name: np.asarray(value) for name, value in data.items()}
    return plotting.explorer_figure(
        data, title=f"αL = {step_scale:.2f}, κ = {10 ** log10_cond:.0f}, "
                    f"σ = {init_scale:.2g}, ρ = {float(data['rho']):.4f}", fig=fig)


def ch3_curse_explorer():
    """The chapter 3 explorer: sliders for the step size, the condition number and σ."""
    import ipywidgets as w
    return explorer(
        ch3_curse,
        step_scale=w.FloatSlider(value=1.9, min=0.1, max=1.98, step=0.02, description="α · L"),
        log10_cond=w.FloatSlider(value=2.0, min=1.0, max=3.0, step=0.1,
                                 description="log10 κ"),
        init_scale=w.FloatSlider(value=1.0, min=0.0, max=10.0, step=0.25, description="σ"))


__all__ += ["ch3_curse", "ch3_curse_explorer"]


# --- Chapter 4: truncation under a fixed budget ------------------------------------

#: Chapter 4 explorer: the demo quadratic of :func:`unrolling.truncation.demo_quadratic`,
#: K = CH4_STEPS derivative steps without truncation, ω at most CH4_OMEGA_MAX (the
#: horizon, and so the compiled program, does not depend on the sliders).
CH4_STEPS, CH4_OMEGA_MAX = 200, 4.0

from . import truncation as _truncation  # noqa: E402  (used by the chapter 4 block only)


@register("ch4_truncation", defaults=dict(T=40, omega=3.0),
          variations=[dict(T=0, omega=3.0), dict(T=80, omega=3.0), dict(T=40, omega=1.0),
                      dict(T=150, omega=4.0)])
def ch4_truncation(T=40, omega=3.0, fig=None):
    r"""Chapter 4 explorer: give up T of K derivative steps and spend ωT on the algorithm.

    :func:`unrolling.truncation.budget_curves` on the demo quadratic
    (K = ``CH4_STEPS``): forward mode without truncation against the late start at
    :math:`T' = T + \lfloor\omega T\rfloor` run to :math:`K' = K + \lfloor\omega T\rfloor`,
    with its Theorem 8 bound. Draws :func:`unrolling.plotting.budget_explorer_figure`
    (``fig``: update it).
    """
    demo = _truncation.demo_quadratic()
    data = _truncation.budget_curves(demo, int(T), float(omega), CH4_STEPS, CH4_OMEGA_MAX)
    return plotting.budget_explorer_figure(data, CH4_STEPS, float(omega), int(T), fig=fig)


def ch4_truncation_explorer():
    """The chapter 4 explorer: sliders for the truncation T and the cost ratio ω."""
    import ipywidgets as w
    return explorer(
        ch4_truncation,
        T=w.IntSlider(value=40, min=0, max=CH4_STEPS, step=5, description="T"),
        omega=w.FloatSlider(value=3.0, min=0.5, max=CH4_OMEGA_MAX, step=0.5, description="ω"))


__all__ += ["ch4_truncation", "ch4_truncation_explorer"]
