"""Retention: how much of what the single-objective RMs get right the mixed RM keeps.

With C_H, C_S and C_HS the sets of items the helpful, harmless and mixed RMs get right:

- retention = |C_HS ∩ (C_H ∪ C_S)| / |C_H ∪ C_S|
- HS-H retention = |C_HS ∩ C_H| / |C_H|, and HS-S likewise
- expected retention under independence = |C_HS| / n, the mixed RM's accuracy: if its
  correctness did not depend on whether a single RM was right, that is the share of any item
  subset it would get right.

Correct sets are boolean arrays over the items of one task, in the same item order for all RMs.
"""

from __future__ import annotations

import numpy as np

from rmbench.metrics.accuracy import FORMATS
from rmbench.metrics.bootstrap import Estimate, estimate_statistic


def correct_set(format: str, item_scores) -> np.ndarray:
    """Turn per-item correctness from :func:`item_correct` into a boolean correct set.

    Pairwise, best-of-n and ties items count as correct only with score 1, so a best-of-n item whose
    chosen response ties for the top (score 1/k) is not. A style matrix item counts as correct
    when more than half of its 9 comparisons are won (score > 0.5). Raises ValueError on NaN
    scores, because an unscored item can be neither in nor out of a set.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {FORMATS}")
    scores = np.asarray(item_scores, dtype=np.float64)
    n_missing = int(np.isnan(scores).sum())
    if n_missing:
        raise ValueError(f"{n_missing} of {len(scores)} items have NaN correctness; rescore them before building correct sets")
    if format == "style_matrix":
        return scores > 0.5
    return scores == 1.0


def _check_sets(*sets) -> tuple[np.ndarray, ...]:
    arrays = tuple(np.asarray(s, dtype=bool) for s in sets)
    lengths = {len(a) for a in arrays}
    if len(lengths) > 1:
        raise ValueError(f"correct sets cover different item counts: {[len(a) for a in arrays]}")
    return arrays


def retention(c_mixed, c_h, c_s) -> float:
    """Return |C_HS ∩ (C_H ∪ C_S)| / |C_H ∪ C_S|, or NaN when neither single RM gets any item right."""
    c_mixed, c_h, c_s = _check_sets(c_mixed, c_h, c_s)
    union = c_h | c_s
    n_union = int(union.sum())
    if n_union == 0:
        return float("nan")
    return float((c_mixed & union).sum() / n_union)


def pairwise_retention(c_mixed, c_single) -> float:
    """Return |C_HS ∩ C_X| / |C_X| for one single RM X, or NaN when C_X is empty."""
    c_mixed, c_single = _check_sets(c_mixed, c_single)
    n_single = int(c_single.sum())
    if n_single == 0:
        return float("nan")
    return float((c_mixed & c_single).sum() / n_single)


def retention_expected_independent(c_mixed, c_h=None, c_s=None) -> float:
    """Return the retention expected if the mixed RM's correctness were independent of the single RMs'.

    That is the mixed RM's accuracy |C_HS| / n. ``c_h`` and ``c_s`` are only checked for length.
    """
    sets = [s for s in (c_mixed, c_h, c_s) if s is not None]
    c_mixed = _check_sets(*sets)[0]
    if len(c_mixed) == 0:
        return float("nan")
    return float(c_mixed.mean())


def retention_report(c_mixed, c_h, c_s, *, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05) -> dict:
    """Return retention, HS-H, HS-S, the independence baseline and retention minus baseline, with bootstrap CIs.

    All intervals come from resampling items jointly for the three sets, so the difference has a
    paired interval. Also reports the set sizes.
    """
    c_mixed, c_h, c_s = _check_sets(c_mixed, c_h, c_s)
    arrays = (c_mixed, c_h, c_s)

    def run(statistic) -> Estimate:
        return estimate_statistic(arrays, statistic, n_boot=n_boot, seed=seed, alpha=alpha)

    return {
        "retention": run(retention),
        "retention_hs_h": run(lambda m, h, s: pairwise_retention(m, h)),
        "retention_hs_s": run(lambda m, h, s: pairwise_retention(m, s)),
        "expected_independent": run(retention_expected_independent),
        "retention_minus_expected": run(lambda m, h, s: retention(m, h, s) - retention_expected_independent(m)),
        "n_items": len(c_mixed),
        "n_mixed": int(c_mixed.sum()),
        "n_helpful": int(c_h.sum()),
        "n_harmless": int(c_s.sum()),
        "n_union": int((c_h | c_s).sum()),
    }
