"""Seeded percentile bootstrap over evaluation items.

Every function resamples items (axis 0) with replacement. Several arrays passed together are
resampled with the same indices, which keeps paired measurements (two models on the same items,
or the three correct sets of a retention metric) aligned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """Point estimate with a confidence interval ``[low, high]``."""

    value: float
    low: float
    high: float

    def fmt(self, digits: int = 3) -> str:
        """Format as ``"0.612 [0.55, 0.67]"``: the value with ``digits`` decimals, the bounds with one fewer."""
        bound_digits = max(digits - 1, 0)
        return f"{self.value:.{digits}f} [{self.low:.{bound_digits}f}, {self.high:.{bound_digits}f}]"

    def contains(self, x: float) -> bool:
        return bool(self.low <= x <= self.high)

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def bootstrap_indices(n_items: int, n_boot: int, seed: int) -> np.ndarray:
    """Return ``[n_boot, n_items]`` resampling indices from a generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_items, size=(n_boot, n_items))


def bootstrap_distribution(
    arrays: tuple[np.ndarray, ...],
    statistic: Callable[..., float],
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Return ``statistic(*resampled arrays)`` for each of ``n_boot`` joint resamples of the items."""
    arrays = tuple(np.asarray(a) for a in arrays)
    n_items = len(arrays[0])
    if any(len(a) != n_items for a in arrays):
        raise ValueError(f"arrays have different item counts: {[len(a) for a in arrays]}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if n_items == 0:
        return np.full(n_boot, np.nan)
    indices = bootstrap_indices(n_items, n_boot, seed)
    return np.array([statistic(*(a[idx] for a in arrays)) for idx in indices], dtype=np.float64)


def percentile_interval(distribution: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """Return the ``alpha / 2`` and ``1 - alpha / 2`` percentiles, ignoring NaN resamples.

    A resample can give NaN (for example a retention whose denominator set is empty in that
    resample); those are dropped. Returns (NaN, NaN) when every resample is NaN.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    finite = distribution[~np.isnan(distribution)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


def bootstrap_ci(
    values, n_boot: int = 1000, seed: int = 0, stat: Callable[[np.ndarray], float] = np.mean, alpha: float = 0.05
) -> tuple[float, float]:
    """Return the percentile bootstrap ``(low, high)`` of ``stat(values)`` over items."""
    distribution = bootstrap_distribution((np.asarray(values),), stat, n_boot=n_boot, seed=seed)
    return percentile_interval(distribution, alpha)


def estimate(
    values, n_boot: int = 1000, seed: int = 0, stat: Callable[[np.ndarray], float] = np.mean, alpha: float = 0.05
) -> Estimate:
    """Return ``stat(values)`` with its percentile bootstrap interval."""
    values = np.asarray(values)
    value = float(stat(values)) if len(values) else float("nan")
    low, high = bootstrap_ci(values, n_boot=n_boot, seed=seed, stat=stat, alpha=alpha)
    return Estimate(value, low, high)


def estimate_statistic(
    arrays: tuple[np.ndarray, ...],
    statistic: Callable[..., float],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> Estimate:
    """Return ``statistic(*arrays)`` with a percentile interval from joint item resamples."""
    arrays = tuple(np.asarray(a) for a in arrays)
    value = float(statistic(*arrays)) if len(arrays[0]) else float("nan")
    distribution = bootstrap_distribution(arrays, statistic, n_boot=n_boot, seed=seed)
    low, high = percentile_interval(distribution, alpha)
    return Estimate(value, low, high)


def paired_bootstrap_diff(
    a,
    b,
    n_boot: int = 1000,
    seed: int = 0,
    stat: Callable[[np.ndarray], float] = np.mean,
    alpha: float = 0.05,
) -> Estimate:
    """Return ``stat(a) - stat(b)`` with an interval from resampling the shared items of ``a`` and ``b`` jointly."""
    return estimate_statistic(
        (np.asarray(a), np.asarray(b)), lambda x, y: stat(x) - stat(y), n_boot=n_boot, seed=seed, alpha=alpha
    )
