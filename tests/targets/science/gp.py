"""Gaussian process regression with a kernel chosen by a static string."""

from functools import partial

import jax
import jax.numpy as jnp
from jax.scipy.linalg import cho_solve, solve_triangular


def sqdist(a, b):
    return jnp.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)


def kernel_matrix(a, b, lengthscale, kind):
    d2 = sqdist(a, b) / lengthscale**2
    if kind == "rbf":
        return jnp.exp(-0.5 * d2)
    elif kind == "matern32":
        r = jnp.sqrt(3.0 * d2 + 1e-12)
        return (1.0 + r) * jnp.exp(-r)
    elif kind == "matern52":
        r = jnp.sqrt(5.0 * d2 + 1e-12)
        return (1.0 + r + r**2 / 3.0) * jnp.exp(-r)
    raise ValueError(kind)


@partial(jax.jit, static_argnames=("kind",))
def gp_posterior(x_train, y_train, x_test, lengthscale, noise, kind="rbf"):
    k = kernel_matrix(x_train, x_train, lengthscale, kind)
    k = k + noise * jnp.eye(x_train.shape[0])
    chol = jnp.linalg.cholesky(k)
    alpha = cho_solve((chol, True), y_train)
    ks = kernel_matrix(x_train, x_test, lengthscale, kind)
    mean = ks.T @ alpha
    v = solve_triangular(chol, ks, lower=True)
    var = jnp.diag(kernel_matrix(x_test, x_test, lengthscale, kind)) - jnp.sum(v**2, axis=0)
    return mean, var


@partial(jax.jit, static_argnames=("kind",))
def gp_nll(x, y, lengthscale, noise, kind):
    n = x.shape[0]
    k = kernel_matrix(x, x, lengthscale, kind) + noise * jnp.eye(n)
    chol = jnp.linalg.cholesky(k)
    alpha = cho_solve((chol, True), y)
    return 0.5 * y @ alpha + jnp.sum(jnp.log(jnp.diag(chol))) + 0.5 * n * jnp.log(2 * jnp.pi)
