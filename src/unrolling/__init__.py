"""unrolling: the small JAX library behind the course "Differentiating Through Iterations".

``import unrolling`` loads the numerical library only; the presentation layer is
imported explicitly (``from unrolling import plotting, widgets, checks``).

Core:
  derivatives  the loop written once; iterates, forward/reverse mode, implicit and one-step
               Jacobians; the estimator values Unrolled(), Truncated(k), OneStep(), Implicit(),
               Adaptive() (chapter 6), FixedPointAdjoint(k), ConjugateGradientAdjoint(k)
               (approximate implicit differentiation, chapter 7); diagnose (appendix)
  methods      update-map factories (gradient descent, heavy ball, Newton, Chebyshev,
               Sobolev, F^k)
  problems     objectives with their solutions, Jacobians and curvature bounds
  data         random instances (explicit PRNG keys) and spectra
  bounds       every theorem's bound and constants
  budget       reallocating a compute budget
  errors       error sequences, their result type, portable printing
Chapters:
  profiling    time and memory of the estimators (2, 4, appendix)
  curse        error curves of the curse (3)
  polynomials  residual polynomials (3, 6)
  truncation   the App. C sweep, late starts, Corollary 1 (4)
  bilevel      Algorithm 1, hypergradient descent (5); warm adjoints, tolerance schedules (7)
  designing    the Sobolev method against the curse: Scieur et al. Figs. 3-4 (6)
  implicit     implicit differentiation in practice: super-efficiency, many
               hyperparameters, a logistic bilevel task (7)
Presentation (imported explicitly):
  plotting     one style and colour table, generic figure builders
  widgets      one interactive explorer per chapter
  checks       exercise checkers, named by chapter

Enable float64 before use: ``jax.config.update("jax_enable_x64", True)``.
"""
from . import bounds, budget, data, derivatives, errors, methods, problems
from .derivatives import (Adaptive, ConjugateGradientAdjoint, FixedPointAdjoint, Implicit,
                          OneStep, Truncated, Unrolled, forward_mode, implicit_jacobian, iterate,
                          one_step_jacobian, reverse_mode)
from .methods import chebyshev, gradient_descent, heavy_ball, newton, sobolev
from . import profiling  # noqa: E402  (chapters 2 and 4)
from . import curse, polynomials  # noqa: E402  (chapter 3)
from . import truncation  # noqa: E402  (chapter 4)
from . import bilevel  # noqa: E402  (chapter 5)
from . import designing  # noqa: E402  (chapter 6)
from . import implicit  # noqa: E402  (chapter 7)

__version__ = "0.2.0"

__all__ = [
    "iterate", "forward_mode", "reverse_mode", "implicit_jacobian", "one_step_jacobian",
    "Unrolled", "Truncated", "OneStep", "Implicit", "Adaptive", "FixedPointAdjoint",
    "ConjugateGradientAdjoint",
    "gradient_descent", "heavy_ball", "newton", "chebyshev", "sobolev",
    "bounds", "budget", "data", "derivatives", "errors", "methods", "problems",
    "profiling", "curse", "polynomials", "truncation", "bilevel", "designing", "implicit",
]
