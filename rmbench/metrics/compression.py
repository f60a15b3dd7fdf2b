"""Score compression: whether the mixed RM's rewards sit closer to zero than a single RM's.

Compared on the items that both the single RM and the mixed RM get right (correct sets as in
:func:`rmbench.metrics.retention.correct_set`). The margin of an item is:

- pairwise: chosen - rejected
- best-of-n: chosen - max(rejected)
- style matrix: mean(chosen) - mean(rejected), the mean of its 9 chosen-minus-rejected differences
- ties: min(correct) - max(incorrect)

Raw reward scales are arbitrary, because a Bradley-Terry loss only fixes reward differences and
two RMs trained on different data can end at very different scales. Hence the two scale-aware
views beside the raw ratios: the Bradley-Terry confidence sigmoid(margin), and the margin
divided by the standard deviation of the RM's rewards over all scored items.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from rmbench.metrics.accuracy import as_reward_rows, item_correct
from rmbench.metrics.bootstrap import Estimate, estimate_statistic
from rmbench.metrics.retention import correct_set


def item_margin(format: str, chosen, rejected) -> np.ndarray:
    """Return each item's reward margin of the chosen over the rejected responses."""
    chosen = as_reward_rows(chosen, "chosen")
    rejected = as_reward_rows(rejected, "rejected")
    if format == "pairwise":
        return chosen[:, 0] - rejected[:, 0]
    if format == "best_of_n":
        return chosen[:, 0] - np.nanmax(rejected, axis=1)
    if format == "style_matrix":
        return chosen.mean(axis=1) - rejected.mean(axis=1)
    if format == "ties":
        return np.nanmin(chosen, axis=1) - np.nanmax(rejected, axis=1)
    raise ValueError(f"unknown format {format!r}")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def reward_std(chosen, rejected) -> float:
    """Return the standard deviation of all non-NaN rewards (chosen and rejected together)."""
    values = np.concatenate([np.ravel(chosen), np.ravel(rejected)]).astype(np.float64)
    values = values[~np.isnan(values)]
    return float(values.std()) if len(values) else float("nan")


def _median_abs(chosen: np.ndarray, rejected: np.ndarray) -> float:
    values = np.abs(np.concatenate([chosen.ravel(), rejected.ravel()]))
    values = values[~np.isnan(values)]
    return float(np.median(values)) if len(values) else float("nan")


def _ratio(numerator: float, denominator: float) -> float:
    if denominator == 0 or np.isnan(denominator):
        return float("nan")
    return float(numerator / denominator)


def compression(single, mixed, format: str, *, single_scale: float | None = None, mixed_scale: float | None = None,
                n_boot: int = 1000, seed: int = 0, alpha: float = 0.05) -> dict:
    """Compare reward magnitudes of a single RM and the mixed RM on the items both get right.

    ``single`` and ``mixed`` have ``.chosen`` and ``.rejected`` arrays over the same items
    (:class:`rmbench.scoring.TaskScores`). ``single_scale`` and ``mixed_scale`` default to each
    RM's reward standard deviation over all items passed in. To normalise across tasks, pass the
    standard deviation over every scored item of every task. Ratios are mixed / single, with
    percentile bootstrap intervals over the shared correct items. A ratio below 1 means the mixed
    RM's values are smaller.
    """
    s_chosen, s_rejected = np.asarray(single.chosen, dtype=np.float64), np.asarray(single.rejected, dtype=np.float64)
    m_chosen, m_rejected = np.asarray(mixed.chosen, dtype=np.float64), np.asarray(mixed.rejected, dtype=np.float64)
    if s_chosen.shape[0] != m_chosen.shape[0]:
        raise ValueError(f"single RM has {s_chosen.shape[0]} items but mixed RM has {m_chosen.shape[0]}")

    both = correct_set(format, item_correct(format, s_chosen, s_rejected)) & correct_set(
        format, item_correct(format, m_chosen, m_rejected)
    )
    single_scale = reward_std(s_chosen, s_rejected) if single_scale is None else single_scale
    mixed_scale = reward_std(m_chosen, m_rejected) if mixed_scale is None else mixed_scale
    rows = (s_chosen[both], s_rejected[both], m_chosen[both], m_rejected[both])

    def margins(sc, sr, mc, mr) -> tuple[np.ndarray, np.ndarray]:
        return item_margin(format, sc, sr), item_margin(format, mc, mr)

    def abs_reward_ratio(sc, sr, mc, mr) -> float:
        return _ratio(_median_abs(mc, mr), _median_abs(sc, sr))

    def margin_ratio(sc, sr, mc, mr) -> float:
        single_margin, mixed_margin = margins(sc, sr, mc, mr)
        return _ratio(np.median(mixed_margin), np.median(single_margin))

    def confidence_ratio(sc, sr, mc, mr) -> float:
        single_margin, mixed_margin = margins(sc, sr, mc, mr)
        return _ratio(np.median(sigmoid(mixed_margin)), np.median(sigmoid(single_margin)))

    def normalized_margin_ratio(sc, sr, mc, mr) -> float:
        single_margin, mixed_margin = margins(sc, sr, mc, mr)
        return _ratio(np.median(mixed_margin) / mixed_scale, np.median(single_margin) / single_scale)

    def run(statistic) -> Estimate:
        if not both.any():
            return Estimate(float("nan"), float("nan"), float("nan"))
        return estimate_statistic(rows, statistic, n_boot=n_boot, seed=seed, alpha=alpha)

    single_margin, mixed_margin = margins(*rows) if both.any() else (np.zeros(0), np.zeros(0))

    def median(values: np.ndarray) -> float:
        return float(np.median(values)) if len(values) else float("nan")

    return {
        "n_items": int(len(both)),
        "n_both_correct": int(both.sum()),
        "median_abs_reward_single": _median_abs(rows[0], rows[1]),
        "median_abs_reward_mixed": _median_abs(rows[2], rows[3]),
        "abs_reward_ratio": run(abs_reward_ratio),
        "median_margin_single": median(single_margin),
        "median_margin_mixed": median(mixed_margin),
        "margin_ratio": run(margin_ratio),
        "bt_confidence_single": median(sigmoid(single_margin)),
        "bt_confidence_mixed": median(sigmoid(mixed_margin)),
        "bt_confidence_ratio": run(confidence_ratio),
        "reward_std_single": float(single_scale),
        "reward_std_mixed": float(mixed_scale),
        "normalized_margin_ratio": run(normalized_margin_ratio),
    }


def gaussian_kde(samples, grid, bandwidth: float | None = None) -> np.ndarray:
    """Return a Gaussian kernel density estimate of ``samples`` evaluated at ``grid``.

    ``bandwidth`` defaults to Scott's rule, std * n^(-1/5). NaN samples are dropped. When all
    samples are equal, the bandwidth falls back to 1e-3 * max(1, |value|) so the density stays
    finite.
    """
    samples = np.asarray(samples, dtype=np.float64).ravel()
    samples = samples[~np.isnan(samples)]
    grid = np.asarray(grid, dtype=np.float64)
    if len(samples) == 0:
        return np.zeros_like(grid)
    if bandwidth is None:
        bandwidth = samples.std() * len(samples) ** (-1 / 5)
    if bandwidth <= 0:
        bandwidth = 1e-3 * max(1.0, abs(float(samples[0])))
    density = np.zeros_like(grid)
    # Chunk the samples so the grid x samples matrix stays small for large score sets.
    for start in range(0, len(samples), 4096):
        z = (grid[:, None] - samples[None, start : start + 4096]) / bandwidth
        density += np.exp(-0.5 * z * z).sum(axis=1)
    return density / (len(samples) * bandwidth * np.sqrt(2 * np.pi))


def plot_reward_kde(rewards: Mapping[str, np.ndarray], path, *, title: str | None = None,
                    xlabel: str = "reward", grid_points: int = 512) -> Path:
    """Plot one KDE curve per labelled reward array into a PNG at ``path`` and return the path."""
    # A bare Figure renders through the Agg canvas without touching pyplot's global backend.
    from matplotlib.figure import Figure

    finite = {label: np.asarray(v, dtype=np.float64).ravel() for label, v in rewards.items()}
    finite = {label: v[~np.isnan(v)] for label, v in finite.items()}
    pooled = np.concatenate([v for v in finite.values() if len(v)] or [np.zeros(1)])
    low, high = float(pooled.min()), float(pooled.max())
    pad = 0.1 * (high - low) or 1.0
    grid = np.linspace(low - pad, high + pad, grid_points)

    figure = Figure(figsize=(6, 4))
    axis = figure.subplots()
    for label, values in finite.items():
        axis.plot(grid, gaussian_kde(values, grid), label=f"{label} (n={len(values)})")
    axis.set_xlabel(xlabel)
    axis.set_ylabel("density")
    if title:
        axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path
