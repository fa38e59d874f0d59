"""unrolling: the small JAX library behind the course "Differentiating Through Iterations".

``import unrolling`` loads the numerical library only; the presentation layer is
imported explicitly (``from unrolling import plotting, widgets, checks``).

Core: ``derivatives`` (the loop written once; iterates, forward and reverse mode,
implicit and one-step Jacobians; the estimator values ``Unrolled()``, ``Truncated(k)``,
``OneStep()``, ``Implicit()`` that every other module uses), ``methods`` (update maps), ``problems`` (objectives
with their solutions and Jacobians), ``data`` (random instances and spectra), ``bounds`` (the papers' error bounds), ``budget``
(reallocating a compute budget), ``errors`` (error sequences).
Chapters: ``profiling`` (2, 4: time and memory of the estimators), ``curse`` and
``polynomials`` (3), ``truncation`` (4), ``bilevel`` (5).
Presentation: ``plotting`` (one figure style), ``widgets`` (the explorers), ``checks``
(exercise checkers).
Enable float64 before use: ``jax.config.update("jax_enable_x64", True)``.
"""
from . import bounds, budget, data, derivatives, errors, methods, problems
from .derivatives import (Implicit, OneStep, Truncated, Unrolled, forward_mode,
                          implicit_jacobian, iterate, one_step_jacobian, reverse_mode)
from .methods import chebyshev, gradient_descent, heavy_ball, newton
from . import profiling  # noqa: E402  (chapters 2 and 4)
from . import curse, polynomials  # noqa: E402  (chapter 3)
from . import truncation  # noqa: E402  (chapter 4)
from . import bilevel  # noqa: E402  (chapter 5)

__version__ = "0.1.0"

__all__ = [
    "iterate", "forward_mode", "reverse_mode", "implicit_jacobian", "one_step_jacobian",
    "Unrolled", "Truncated", "OneStep", "Implicit",
    "gradient_descent", "heavy_ball", "newton", "chebyshev",
    "bounds", "budget", "data", "derivatives", "errors", "methods", "problems",
    "profiling", "curse", "polynomials", "truncation", "bilevel",
]
