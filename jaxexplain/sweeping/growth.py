"""Growth laws fitted to one figure over the points of a sweep, and extrapolation from them.

Pure NumPy on the report's numbers, so a saved sweep fits the same way as a fresh one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np

from jaxexplain.report import Growth, Law

# The candidate laws, simplest first: the rule in `fit` prefers the earlier of two that fit
# about as well. Each but "exponential" is `a + b * g(n)`, fitted by least squares.
POLYNOMIAL_LAWS: dict[str, tuple[float, Callable[[np.ndarray], np.ndarray]]] = {
    "linear": (1.0, lambda n: n),
    "nlogn": (1.0, lambda n: n * np.log(n)),
    "quadratic": (2.0, lambda n: n**2),
}
# A law within this much (residual relative to the largest value) of the best fit is as good.
TOLERANCE = 0.02
# A best law whose residual is above this fits nowhere near: the figure grows some "other" way.
FIT_LIMIT = 0.10
# A polynomial law whose degree is this far from the measured exponent is another law.
EXPONENT_SLACK = 0.5
MIN_POINTS = 3
# A jittering figure (`noise` > 0) growing slower than n^NOISY_EXPONENT shows no law.
NOISY_EXPONENT = 0.25


def fit(xs: Sequence[float], ys: Sequence[float], of: str, noise: float = 0.0) -> Growth | None:
    """The growth law of `ys` over `xs` (the values of the swept `of`), or None below three
    distinct positive `xs`.

    The rule: a figure whose spread around its mean is within `noise` (relative RMS; measured
    seconds jitter, counts do not) is constant, and so is a jittering figure whose exponent is
    below NOISY_EXPONENT (seconds that fall as the work grows are jitter, not a law). Otherwise fit every candidate (constant, linear, n log n, quadratic as `a + b*g(n)` by
    least squares; exponential as `log y = a + b*n`), measure each one's RMS residual relative
    to the largest |y|, and take the simplest whose residual is within TOLERANCE of the best.
    It is "other" instead when even that residual is above FIT_LIMIT, or when it is a
    polynomial whose degree is more than EXPONENT_SLACK from the exponent of the log-log
    least-squares line through the upper half of the points (an n^3 growth is no quadratic,
    however well a quadratic with an offset follows it). The exponent is that slope: the
    growth where the figure is largest, where offsets matter least.
    """
    n, y = _usable(xs, ys)
    if n is None or y is None:
        return None
    exponent, power = _upper_slope(n, y)
    scale = float(np.max(np.abs(y))) or 1.0
    fits = {"constant": (float(np.mean(y)), 0.0)}
    fits.update({name: _linear_fit(g(n), y) for name, (_, g) in POLYNOMIAL_LAWS.items()})
    exponential = _exponential_fit(n, y)
    if exponential is not None:
        fits["exponential"] = exponential
    residuals = {name: _residual(name, c, n, y) / scale for name, c in fits.items()}
    best = min(residuals.values())
    name = next(law for law in fits if residuals[law] <= best + TOLERANCE)
    if residuals["constant"] <= noise or (noise and exponent < NOISY_EXPONENT):
        name = "constant"
    elif residuals[name] > max(FIT_LIMIT, noise) or _degree_disagrees(
        name, _offset_free_exponent(n, y, fits[name][0], exponent)
    ):
        return Growth("other", exponent, of, power, round(_power_residual(power, n, y) / scale, 4))
    a, b = fits[name]
    return Growth(
        cast(Law, name), exponent, of, (_rounded(a), _rounded(b)), round(residuals[name], 4)
    )


def _rounded(value: float) -> float:
    """A coefficient to 12 significant digits: least squares leaves 1e-15 where 0 was meant."""
    return float(f"{value:.12g}") if abs(value) > 1e-9 else 0.0


def predict(growth: Growth, x: float) -> float:
    """The figure the fitted law gives at `x` (the swept value), for `--predict`."""
    a, b = growth.coefficients
    return float(_law_values(growth.name, (a, b), np.asarray([float(x)]))[0])


def _usable(
    xs: Sequence[float], ys: Sequence[float]
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The points with a positive x and a finite y, in x order; None where fewer than
    MIN_POINTS distinct x remain."""
    pairs = sorted(
        (float(x), float(y))
        for x, y in zip(xs, ys, strict=True)
        if x is not None and y is not None and x > 0 and math.isfinite(y)
    )
    if len({x for x, _ in pairs}) < MIN_POINTS:
        return None, None
    return np.asarray([x for x, _ in pairs]), np.asarray([y for _, y in pairs])


def _upper_slope(n: np.ndarray, y: np.ndarray) -> tuple[float, tuple[float, float]]:
    """The log-log slope through the upper half of the points (at least MIN_POINTS of them)
    with positive y, and the power law `exp(a) * n**b` it is, as `(a, b)`; 0 where y is
    nowhere positive."""
    keep = y > 0
    n, y = n[keep], y[keep]
    if len(set(n.tolist())) < 2:
        return 0.0, (math.log(float(np.max(y))) if len(y) else 0.0, 0.0)
    upper = max(MIN_POINTS, (len(n) + 1) // 2)
    n, y = n[-upper:], y[-upper:]
    b, a = np.polyfit(np.log(n), np.log(y), 1)
    return round(float(b), 3) + 0.0, (float(a), float(b))


def _linear_fit(g: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """`(a, b)` of the least-squares line `y = a + b*g`."""
    b, a = np.polyfit(g, y, 1)
    return float(a), float(b)


def _exponential_fit(n: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """`(a, b)` of `log y = a + b*n` for positive, growing figures; None otherwise."""
    if np.any(y <= 0):
        return None
    b, a = np.polyfit(n, np.log(y), 1)
    return (float(a), float(b)) if b > 0 else None


def _residual(name: str, coefficients: tuple[float, float], n: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - _law_values(name, coefficients, n)) ** 2)))


def _power_residual(power: tuple[float, float], n: np.ndarray, y: np.ndarray) -> float:
    return _residual("other", power, n, y)


def _law_values(name: str, coefficients: tuple[float, float], n: np.ndarray) -> np.ndarray:
    """The law's values at `n`: `a + b*g(n)`, `exp(a + b*n)` (exponential), `exp(a) * n**b`
    (other, the power law), `a` (constant)."""
    a, b = coefficients
    if name == "constant":
        return np.full_like(n, a)
    if name == "exponential":
        return np.exp(a + b * n)
    if name == "other":
        return np.exp(a) * n**b
    return a + b * POLYNOMIAL_LAWS[name][1](n)


def _offset_free_exponent(n: np.ndarray, y: np.ndarray, offset: float, exponent: float) -> float:
    """The log-log slope of the figure less the law's fitted offset: an argument memory of
    constant parameters plus a batch that grows is linear, though its own slope is far below 1.
    The plain slope where removing the offset leaves no positive values."""
    rest = y - offset
    if offset <= 0 or np.count_nonzero(rest > 0) < MIN_POINTS:
        return exponent
    return _upper_slope(n, rest)[0]


def _degree_disagrees(name: str, exponent: float) -> bool:
    return name in POLYNOMIAL_LAWS and abs(POLYNOMIAL_LAWS[name][0] - exponent) > EXPONENT_SLACK
