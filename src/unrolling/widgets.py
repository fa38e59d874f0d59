"""Interactive explorers (ipywidgets) for the chapters.

Every explorer is built by :func:`explorer` from a pure ``draw(**values) -> Figure``
function, so that (i) the notebook shows the default state as a static figure by
calling ``draw`` directly, and (ii) the benchmark times exactly the callback.
Compute inside ``draw`` must be jit-compiled once (keep jitted functions outside
``draw``) so that an update feels instant.
"""
import io

import matplotlib.pyplot as plt

__all__ = ["explorer", "render", "register", "EXPLORERS"]

#: name -> (draw, defaults, variations): every chapter explorer registers its pure
#: draw function here, with its default values and a few other settings, so the
#: widget benchmark (benchmarks/widgets.py) can time each callback.
EXPLORERS = {}


def register(name, defaults, variations):
    """Decorator recording ``draw`` in :data:`EXPLORERS` under ``name``."""
    def decorate(draw):
        EXPLORERS[name] = (draw, dict(defaults), [dict(v) for v in variations])
        return draw
    return decorate


def render(fig):
    """Rasterize a figure to PNG bytes as the inline backend does; closes the figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def explorer(draw, **controls):
    """A box of controls above an output area that ``draw(**values)`` refreshes.

    Args:
      draw: function of the control values returning a matplotlib Figure.
      **controls: ipywidgets value widgets (sliders, toggles), keyed by ``draw``'s
        argument names.

    Returns:
      An ``ipywidgets.VBox``; the figure for the initial values is drawn at once,
      so the executed notebook embeds it in the widget state.
    """
    import ipywidgets as w
    from IPython.display import Image, display

    out = w.Output()

    def update(change=None):
        png = render(draw(**{name: c.value for name, c in controls.items()}))
        with out:
            out.clear_output(wait=True)
            display(Image(png))

    for control in controls.values():
        control.observe(update, names="value")
    update()
    return w.VBox([w.HBox(list(controls.values())), out])
