"""Group-level estimates with stratified bootstrap confidence intervals.

A task-group accuracy is the mean of per-task accuracies (each task weighs the same, as in the
group averages of Tanwar and Atanasova). Its confidence interval resamples items within each task, so tasks of
different sizes keep their weight. Differences (ablated minus baseline, RM A minus RM B) are
paired: the same resampled items enter both sides.
"""

from __future__ import annotations

import numpy as np

from rmbench.metrics.bootstrap import Estimate

DEFAULT_BOOTSTRAP = 1000


def no_interval(value: float) -> Estimate:
    """Return an estimate without a bootstrap interval, for deterministic quantities such as layer shares."""
    return Estimate(float(value), float("nan"), float("nan"))


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
        return no_interval(float("nan"))
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


def fmt_estimate(estimate: Estimate, digits: int = 3) -> str:
    """Format as "0.612 [0.55, 0.67]", or the bare value when there is no interval."""
    if np.isnan(estimate.low):
        return f"{estimate.value:.{digits}f}"
    return estimate.fmt(digits)


def estimate_json(estimate: Estimate) -> dict:
    def clean(x):
        return None if x is None or np.isnan(x) else float(x)

    return {"value": clean(estimate.value), "low": clean(estimate.low), "high": clean(estimate.high)}
