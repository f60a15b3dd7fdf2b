"""Group-level estimates with stratified bootstrap confidence intervals.

A task-group accuracy is the mean of per-task accuracies (each task weighs the same, as in the
paper's group averages). Its confidence interval resamples items within each task, so tasks of
different sizes keep their weight. Differences (ablated minus baseline, RM A minus RM B) are
paired: the same resampled items enter both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BOOTSTRAP = 1000


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a 95% percentile-bootstrap interval (NaN bounds when none applies)."""

    value: float
    low: float = float("nan")
    high: float = float("nan")

    def fmt(self, digits: int = 3) -> str:
        if np.isnan(self.low):
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"

    def to_json(self) -> dict:
        return {"value": _clean(self.value), "low": _clean(self.low), "high": _clean(self.high)}


def _clean(x: float):
    return None if x is None or np.isnan(x) else float(x)


def _stratified_means(per_task: list[np.ndarray], n_boot: int, seed: int) -> np.ndarray:
    """Return [n_boot] bootstrap replicates of the mean of per-task means."""
    rng = np.random.default_rng(seed)
    replicates = np.zeros(n_boot)
    for values in per_task:
        n = len(values)
        idx = rng.integers(0, n, size=(n_boot, n))
        replicates += values[idx].mean(axis=1)
    return replicates / len(per_task)


def group_mean(per_task: list[np.ndarray], n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0) -> Estimate:
    """Mean over tasks of the per-task mean of `values`, with a stratified bootstrap CI."""
    per_task = [np.asarray(v, dtype=float) for v in per_task if len(v)]
    if not per_task:
        return Estimate(float("nan"))
    value = float(np.mean([v.mean() for v in per_task]))
    replicates = _stratified_means(per_task, n_boot, seed)
    low, high = np.percentile(replicates, [2.5, 97.5])
    return Estimate(value, float(low), float(high))


def group_difference(
    a: list[np.ndarray], b: list[np.ndarray], n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0
) -> Estimate:
    """Paired difference of two group means over the same items (a minus b)."""
    diffs = [np.asarray(x, dtype=float) - np.asarray(y, dtype=float) for x, y in zip(a, b, strict=True)]
    return group_mean(diffs, n_boot=n_boot, seed=seed)


def binomial_above_chance(estimate: Estimate) -> bool:
    """True when the whole 95% interval lies above 0.5."""
    return bool(estimate.low > 0.5)
