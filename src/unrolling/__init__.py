"""unrolling: the small JAX library behind the course "Differentiating Through Iterations".

Modules mirror the chapters: ``derivatives`` (iterates and the four derivative
estimators), ``methods`` (update maps), ``problems`` (test problems with closed
forms), ``bounds`` (the papers' error bounds), ``budget`` (compute reallocation).
Enable float64 before use: ``jax.config.update("jax_enable_x64", True)``.
"""
from . import (bounds, budget, checks, errors, methods, plotting, problems, profiling,
               widgets)
from .derivatives import (forward_mode, implicit_jacobian, iterate, one_step_jacobian,
                          reverse_mode)
from .methods import chebyshev, gradient_descent, heavy_ball, newton
from . import bilevel  # noqa: E402  (chapter 5: Algorithm 1, hypergradient estimators)
from . import curse, polynomials  # noqa: E402  (chapter 3: error curves, residual polynomials)
from . import experiments, onestep  # noqa: E402  (chapter 4: App. C sweep, one-step)

__version__ = "0.1.0"

__all__ = [
    "iterate", "forward_mode", "reverse_mode", "implicit_jacobian", "one_step_jacobian",
    "gradient_descent", "heavy_ball", "newton", "chebyshev",
    "bounds", "budget", "checks", "errors", "methods", "plotting", "problems", "profiling",
    "widgets", "bilevel", "curse", "polynomials", "experiments", "onestep",
]
