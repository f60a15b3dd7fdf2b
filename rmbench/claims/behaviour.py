"""Behavioural claims: specialisation, interference, low retention and score compression."""

from __future__ import annotations

import numpy as np

from rmbench.claims.base import (
    DOES_NOT_HOLD,
    HOLDS,
    INCONCLUSIVE,
    ClaimResult,
    per_task_correct,
    training_check,
)
from rmbench.claims.stats import DEFAULT_BOOTSTRAP, Estimate, fmt_estimate, group_difference, group_mean, no_interval
from rmbench.metrics.compression import item_margin, sigmoid
from rmbench.metrics.retention import correct_set as metric_correct_set
from rmbench.metrics.retention import pairwise_retention, retention
from rmbench.pipeline.results import StudyResults, TaskEvaluation

# rmbench's reading of "keeps only part": mean retention below three quarters in each task group.
# The paper reports 0.567 (helpful tasks) and 0.6225 (harmless tasks) and sets no threshold.
LOW_RETENTION_THRESHOLD = 0.75


def _group(results: StudyResults, model: str, orientation: str, ablation: str = "none") -> Estimate:
    tasks = results.tasks_of(orientation)
    return group_mean(per_task_correct(results, model, ablation, tasks))


def _group_gap(results: StudyResults, a: str, b: str, orientation: str) -> Estimate:
    tasks = results.tasks_of(orientation)
    return group_difference(
        per_task_correct(results, a, "none", tasks), per_task_correct(results, b, "none", tasks)
    )


def specialisation(results: StudyResults) -> ClaimResult:
    """Check that each single-objective RM is best on its own task group."""
    metrics = {
        "helpful_rm_on_helpful_tasks": _group(results, "helpful", "helpful"),
        "harmless_rm_on_helpful_tasks": _group(results, "harmless", "helpful"),
        "helpful_rm_on_harmless_tasks": _group(results, "helpful", "harmless"),
        "harmless_rm_on_harmless_tasks": _group(results, "harmless", "harmless"),
        "gap_on_helpful_tasks": _group_gap(results, "helpful", "harmless", "helpful"),
        "gap_on_harmless_tasks": _group_gap(results, "harmless", "helpful", "harmless"),
    }
    paper = {
        "helpful_rm_on_harmless_tasks": 0.305,
        "harmless_rm_on_harmless_tasks": 0.709,
        "helpful_rm_on_helpful_tasks": 0.531,
        "harmless_rm_on_helpful_tasks": 0.44,
    }
    control = training_check(results, ("helpful", "harmless"))
    if control:
        return ClaimResult("specialisation", results.label, metrics, INCONCLUSIVE, control, paper)

    holds = metrics["gap_on_helpful_tasks"].value > 0 and metrics["gap_on_harmless_tasks"].value > 0
    reason = (
        f"helpful RM minus harmless RM on helpful tasks {fmt_estimate(metrics['gap_on_helpful_tasks'])}, "
        f"harmless RM minus helpful RM on harmless tasks {fmt_estimate(metrics['gap_on_harmless_tasks'])}; "
        "both must be positive"
    )
    return ClaimResult("specialisation", results.label, metrics, HOLDS if holds else DOES_NOT_HOLD, reason, paper)


def interference(results: StudyResults) -> ClaimResult:
    """Check that the mixed RM falls short of the specialist on the specialist's own task group."""
    metrics = {
        "mixed_minus_helpful_rm_on_helpful_tasks": _group_gap(results, "mixed", "helpful", "helpful"),
        "mixed_minus_harmless_rm_on_harmless_tasks": _group_gap(results, "mixed", "harmless", "harmless"),
        "mixed_rm_on_helpful_tasks": _group(results, "mixed", "helpful"),
        "mixed_rm_on_harmless_tasks": _group(results, "mixed", "harmless"),
    }
    control = training_check(results, ("helpful", "harmless", "mixed"))
    if control:
        return ClaimResult("interference", results.label, metrics, INCONCLUSIVE, control)

    gaps = (
        metrics["mixed_minus_helpful_rm_on_helpful_tasks"].value,
        metrics["mixed_minus_harmless_rm_on_harmless_tasks"].value,
    )
    holds = all(gap < 0 for gap in gaps)
    reason = f"mixed minus specialist: helpful tasks {gaps[0]:+.3f}, harmless tasks {gaps[1]:+.3f}; both must be negative"
    return ClaimResult("interference", results.label, metrics, HOLDS if holds else DOES_NOT_HOLD, reason)


# ---------------------------------------------------------------------- retention


def correct_set(evaluation: TaskEvaluation) -> np.ndarray:
    """Items a model gets right (see `rmbench.metrics.retention.correct_set` for the rule)."""
    return metric_correct_set(evaluation.format, evaluation.correct)


def task_retention(results: StudyResults, task: str) -> dict[str, float]:
    """Retention of one task, its pairwise versions and the value expected under independence."""
    sets = {m: correct_set(results.evaluation(m)[task]) for m in ("mixed", "helpful", "harmless")}
    value = retention(sets["mixed"], sets["helpful"], sets["harmless"])
    # If the mixed RM's correctness were independent of the single RMs', it would retain each
    # item of the union with probability equal to its own accuracy on the task.
    expected = float(sets["mixed"].mean())
    return {
        "retention": value,
        "expected_if_independent": expected,
        "difference": value - expected,
        "hs_h": pairwise_retention(sets["mixed"], sets["helpful"]),
        "hs_s": pairwise_retention(sets["mixed"], sets["harmless"]),
    }


def _retention_group(results: StudyResults, orientation: str, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0):
    """Mean retention over a group's tasks with a stratified bootstrap CI."""
    tasks = results.tasks_of(orientation)
    sets = [
        {m: correct_set(results.evaluation(m)[t]) for m in ("mixed", "helpful", "harmless")} for t in tasks
    ]
    point = np.nanmean([retention(s["mixed"], s["helpful"], s["harmless"]) for s in sets])
    expected = float(np.mean([s["mixed"].mean() for s in sets]))

    rng = np.random.default_rng(seed)
    replicates = np.empty(n_boot)
    for b in range(n_boot):
        values = []
        for s in sets:
            idx = rng.integers(0, len(s["mixed"]), len(s["mixed"]))
            values.append(retention(s["mixed"][idx], s["helpful"][idx], s["harmless"][idx]))
        replicates[b] = np.nanmean(values) if not np.all(np.isnan(values)) else np.nan
    low, high = np.nanpercentile(replicates, [2.5, 97.5])
    return Estimate(float(point), float(low), float(high)), no_interval(expected)


def low_retention(results: StudyResults) -> ClaimResult:
    """Check that the mixed RM keeps only part of what the single RMs got right."""
    helpful, helpful_expected = _retention_group(results, "helpful")
    harmless, harmless_expected = _retention_group(results, "harmless")
    metrics = {
        "retention_helpful_tasks": helpful,
        "retention_harmless_tasks": harmless,
        "expected_if_independent_helpful_tasks": helpful_expected,
        "expected_if_independent_harmless_tasks": harmless_expected,
        "retention_minus_expected_helpful_tasks": no_interval(helpful.value - helpful_expected.value),
        "retention_minus_expected_harmless_tasks": no_interval(harmless.value - harmless_expected.value),
    }
    paper = {"retention_helpful_tasks": 0.567, "retention_harmless_tasks": 0.6225}
    control = training_check(results, ("helpful", "harmless", "mixed"))
    if control:
        return ClaimResult("low-retention", results.label, metrics, INCONCLUSIVE, control, paper)

    holds = helpful.value < LOW_RETENTION_THRESHOLD and harmless.value < LOW_RETENTION_THRESHOLD
    reason = (
        f"mean retention {fmt_estimate(helpful)} on helpful and {fmt_estimate(harmless)} on harmless tasks; "
        f"both must be below {LOW_RETENTION_THRESHOLD}"
    )
    return ClaimResult("low-retention", results.label, metrics, HOLDS if holds else DOES_NOT_HOLD, reason, paper)


# ---------------------------------------------------------------------- compression


def _all_rewards(results: StudyResults, model: str) -> np.ndarray:
    values = []
    for evaluation in results.evaluation(model).values():
        values.append(evaluation.chosen.ravel())
        values.append(evaluation.rejected.ravel())
    flat = np.concatenate(values)
    return flat[~np.isnan(flat)]


def compression_metrics(results: StudyResults, single: str, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0):
    """Mixed-versus-single reward statistics on items both RMs get right."""
    mixed_abs, single_abs, mixed_margin, single_margin = [], [], [], []
    for task in results.tasks:
        ev_mixed = results.evaluation("mixed")[task]
        ev_single = results.evaluation(single)[task]
        both = correct_set(ev_mixed) & correct_set(ev_single)
        mixed_margin.append(item_margin(ev_mixed.format, ev_mixed.chosen, ev_mixed.rejected)[both])
        single_margin.append(item_margin(ev_single.format, ev_single.chosen, ev_single.rejected)[both])
        mixed_abs.append(np.nanmean(np.abs(np.hstack([ev_mixed.chosen, ev_mixed.rejected])), axis=1)[both])
        single_abs.append(np.nanmean(np.abs(np.hstack([ev_single.chosen, ev_single.rejected])), axis=1)[both])
    mixed_abs, single_abs = np.concatenate(mixed_abs), np.concatenate(single_abs)
    mixed_margin, single_margin = np.concatenate(mixed_margin), np.concatenate(single_margin)
    std_mixed = float(np.std(_all_rewards(results, "mixed")))
    std_single = float(np.std(_all_rewards(results, single)))

    def stats(idx):
        abs_ratio = np.median(mixed_abs[idx]) / np.median(single_abs[idx])
        margin_ratio = np.median(mixed_margin[idx]) / np.median(single_margin[idx])
        normalised = margin_ratio * std_single / std_mixed
        confidence_gap = np.median(sigmoid(mixed_margin[idx])) - np.median(sigmoid(single_margin[idx]))
        return np.array([abs_ratio, margin_ratio, normalised, confidence_gap])

    n = len(mixed_margin)
    names = ["abs_reward_ratio", "margin_ratio", "normalised_margin_ratio", "bt_confidence_gap"]
    if n == 0:
        return {f"{name}_vs_{single}": no_interval(float("nan")) for name in names} | {f"items_both_correct_{single}": no_interval(0.0)}
    point = stats(np.arange(n))
    rng = np.random.default_rng(seed)
    replicates = np.array([stats(rng.integers(0, n, n)) for _ in range(n_boot)])
    low, high = np.nanpercentile(replicates, [2.5, 97.5], axis=0)
    metrics = {f"{name}_vs_{single}": Estimate(float(point[i]), float(low[i]), float(high[i])) for i, name in enumerate(names)}
    metrics[f"items_both_correct_{single}"] = no_interval(float(n))
    return metrics


def score_compression(results: StudyResults) -> ClaimResult:
    """Where both get an item right, the mixed RM's rewards sit closer to zero.

    The verdict uses the scale-aware margin ratio (margins divided by each RM's reward standard
    deviation): a raw ratio below 1 can come from a smaller reward scale alone, which tells
    nothing about separability.
    """
    metrics = compression_metrics(results, "helpful") | compression_metrics(results, "harmless")
    control = training_check(results, ("helpful", "harmless", "mixed"))
    if control:
        return ClaimResult("score-compression", results.label, metrics, INCONCLUSIVE, control)

    normalised = [metrics[f"normalised_margin_ratio_vs_{s}"].value for s in ("helpful", "harmless")]
    holds = all(v < 1 for v in normalised)
    reason = (
        f"scale-aware margin ratio mixed/single: {normalised[0]:.3f} vs helpful RM, "
        f"{normalised[1]:.3f} vs harmless RM; both must be below 1"
    )
    return ClaimResult("score-compression", results.label, metrics, HOLDS if holds else DOES_NOT_HOLD, reason)
