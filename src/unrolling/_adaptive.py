r"""Adaptive truncation: the start of the derivative chosen from observed iterates (chapter 6).

Mehmood et al. (Sec. 4.5) leave open how to pick the truncation index without the
constants of their eq. (22). The rule here plugs *observable* estimates into eq. (22):

.. math:: h(T) = \rho^{K-T}\dot e^{(0)} + (K-T)\rho^{K+\omega T-1}\,\Gamma e^{(0)},

whose minimizer depends on ρ and on the ratio :math:`r = \Gamma e^{(0)}/\dot e^{(0)}` only.
At step k, from the differences :math:`\Delta_k = x^{(k)} - x^{(k-1)}`:

* :math:`\hat\rho_k = (\|\Delta_k\| / \|\Delta_{k-w}\|)^{1/w}` over a window of w steps;
* the remaining error :math:`\hat e_k = \|\Delta_k\|\hat\rho_k/(1-\hat\rho_k)` (geometric tail),
  and :math:`\hat e^{(0)} = \|x^{(k)} - x^{(0)}\| + \hat e_k`;
* :math:`\hat r_k = c\, s_k (1-\hat\rho_k)\,\hat e^{(0)}/\|x^{(k)}\|`. The factor
  :math:`(1-\rho)/\|x\|` is the scale of :math:`\Gamma/\|Dx^*\|` when the step's derivative
  :math:`C(x)` depends on x about linearly (:math:`\|Dx^*\| \approx \|C\|/(1-\rho)`,
  :math:`\Gamma \approx \|C\|/\|x\|`). The factor
  :math:`s_k = \|\Delta_k - \Delta_{k-1}\|^2 / (2\|\Delta_k\|^2 + 2\|\Delta_{k-1}\|^2) \in [0, 1]`
  is the share of the motion that reverses from one step to the next: Scieur et al.'s
  gradient-descent factor :math:`(1-h\lambda)^{t-1}(1+(t-1)h\lambda)` exceeds 1 only where
  :math:`h\lambda > 1`, i.e. along directions whose error flips sign at every step, so a
  monotone run has no burn-in to cut. c is the rule's one knob (``scale``).

The rule starts the derivative at the first step :math:`T' \ge 2` with
:math:`T' \ge (1+\omega)\hat T_k` (:math:`\hat T_k` the relaxed minimizer of eq. (22) with the
estimates of step k, Mehmood et al. Lemma 11), and at the latest at
:math:`(1+\omega)\,f_{\max} K`. It gives up :math:`T = T'/(1+\omega)` derivative steps (ω = 0:
no reallocation, :math:`T = T'`). Per step it costs two norms, one inner product and a
scalar bisection; it keeps :math:`x^{(0)}`, :math:`\Delta_{k-1}` and w scalars.
"""
import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from . import _validate, bounds, derivatives


@jax.jit
def observables(path):
    r"""What the rule sees along a path ``(K+1, n)`` of flat iterates, each of shape (K+1,):
    :math:`\|\Delta_k\|`, the reversing share :math:`s_k`, :math:`\|x^{(k)} - x^{(0)}\|` and
    :math:`\|x^{(k)}\|` (entries before they exist are 0)."""
    diff = jnp.diff(path, axis=0)
    diff = jnp.concatenate([jnp.zeros_like(path[:1]), diff])           # Delta_k, Delta_0 = 0
    prev = jnp.concatenate([jnp.zeros_like(diff[:1]), diff[:-1]])      # Delta_{k-1}
    den = 2 * (jnp.sum(diff**2, -1) + jnp.sum(prev**2, -1))
    share = jnp.sum((diff - prev) ** 2, -1) / jnp.where(den > 0, den, 1.0)
    share = jnp.where(den > 0, share, 0.0).at[:2].set(0.0)
    return (jnp.linalg.norm(diff, axis=-1), share, jnp.linalg.norm(path - path[:1], axis=-1),
            jnp.linalg.norm(path, axis=-1))


def _estimates(delta, share, dist0, xnorm, window):
    """ρ̂_k and r̂_k / c for k = 0..K (k < 2: ρ̂ = 0)."""
    k = jnp.arange(delta.shape[0])
    w = jnp.clip(k - 1, 1, window)
    earlier = delta[jnp.maximum(k - w, 0)]
    ok = (k >= 2) & (earlier > 0) & (delta > 0)
    ratio = delta / jnp.where(ok, earlier, 1.0)
    rho = jnp.where(ok, ratio ** (1.0 / w.astype(delta.dtype)), 0.0)
    rho = jnp.clip(rho, 0.0, 1.0 - 1e-12)
    e0 = dist0 + delta * rho / (1.0 - rho)
    tiny = jnp.finfo(delta.dtype).tiny
    return rho, share * (1.0 - rho) * e0 / jnp.maximum(xnorm, tiny)


@functools.partial(jax.jit, static_argnames=("window",))
def choose_start(delta, share, dist0, xnorm, K, *, omega=0.0, scale=1.0, window=10,
                 max_fraction=0.8):
    """The rule: T (derivative steps given up, int) from :func:`observables`, traceable in K."""
    rho, ratio = _estimates(delta, share, dist0, xnorm, window)
    K_f = jnp.asarray(K, rho.dtype)
    T_hat = jax.vmap(lambda r, q: bounds._relaxed_minimizer(
        K_f, omega, jnp.maximum(r, 1e-12), scale * q, 1.0, 1.0, 60))(rho, ratio)
    k = jnp.arange(delta.shape[0], dtype=rho.dtype)
    latest = (1.0 + omega) * max_fraction * K_f
    ok = (k >= 2) & ((k >= (1.0 + omega) * T_hat) | (k >= latest)) & (k <= K_f)
    T_prime = jnp.where(ok.any(), jnp.argmax(ok).astype(rho.dtype), latest)
    T = jnp.rint(jnp.minimum(T_prime, latest) / (1.0 + omega)).astype(int)
    return jnp.minimum(T, jnp.floor(max_fraction * K_f).astype(int))


def flat_path(path):
    """Iterates (a stacked pytree) as rows of a (K+1, n) array."""
    return jax.vmap(lambda x: ravel_pytree(x)[0])(path)


@dataclasses.dataclass(frozen=True)
class Adaptive:
    r"""Truncation chosen by the run itself: give up the first T derivative steps, T from the
    observed iterates by the rule of this module (eq. (22) with estimated constants; no
    solution, no Lipschitz constant). ``scale`` is the rule's knob c, ``window`` the steps
    over which ρ is estimated, ``max_fraction`` the largest T/K. Chapter 6.

    This implementation runs the K iterations once to read the observables and again
    to differentiate the last K - T steps (an online one would start the tangent at T in
    the same pass); in :mod:`unrolling.bilevel` it stores the path, as unrolling does."""
    scale: float = 1.0
    window: int = 10
    max_fraction: float = 0.8
    name: ClassVar[str] = "adaptive"

    def __post_init__(self):
        _validate.positive(self.scale, "Adaptive.scale")
        if _validate.num_steps(self.window, "Adaptive.window") < 1:
            raise ValueError(f"Adaptive.window must be an int >= 1, got {self.window}")
        _validate.in_range(self.max_fraction, "Adaptive.max_fraction", 0.0, 1.0,
                           high_open=True)

    def stored_iterates(self, num_steps):
        return num_steps

    def given_up(self, path, num_steps, omega=0.0):
        """T for a path of flat iterates ``(num_steps + 1, n)`` (traceable)."""
        return choose_start(*observables(path), num_steps, omega=omega, scale=self.scale,
                            window=self.window, max_fraction=self.max_fraction)

    def start(self, update, x0, u, num_steps):
        """T (a Python int) for the run of ``num_steps`` steps of ``update`` from x0."""
        K = _validate.num_steps(num_steps)
        path = flat_path(derivatives.iterate(update, x0, u, K))
        return int(self.given_up(path, K))

    def jvp(self, update, x0, u, num_steps, v):
        T = self.start(update, x0, u, num_steps)
        return derivatives.forward_mode(update, x0, u, num_steps, start=T, v=v)[-1]

    def vjp(self, update, x0, u, num_steps, w):
        T = self.start(update, x0, u, num_steps)
        return derivatives.reverse_mode(update, x0, u, num_steps, stop=T, w=w)[-1]
