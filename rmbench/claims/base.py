"""Claim results, verdicts and the training-check control shared by every claim."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rmbench.claims.stats import Estimate, estimate_json, fmt_estimate, no_interval
from rmbench.pipeline.results import StudyResults

HOLDS = "holds"
DOES_NOT_HOLD = "does not hold"
INCONCLUSIVE = "inconclusive"


@dataclass
class ClaimResult:
    claim: str
    model: str                              # "<backbone label>/seed<k>"
    metrics: dict[str, Estimate]
    verdict: str                            # HOLDS | DOES_NOT_HOLD | INCONCLUSIVE
    reason: str                             # the direction check, or the control that made it inconclusive
    paper: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "claim": self.claim,
            "model": self.model,
            "metrics": {k: estimate_json(v) for k, v in self.metrics.items()},
            "verdict": self.verdict,
            "reason": self.reason,
            "paper": self.paper,
        }


def heldout_estimate(results: StudyResults, rm: str, objective: str) -> Estimate:
    """Held-out HH-RLHF accuracy of an RM on an objective, from its training manifest."""
    entry = results.heldout.get(rm, {}).get(objective)
    if entry is None:
        return no_interval(float("nan"))
    if isinstance(entry, dict):
        low = entry.get("ci_low", entry.get("low", float("nan")))
        high = entry.get("ci_high", entry.get("high", float("nan")))
        return Estimate(float(entry["accuracy"]), float(low), float(high))
    return Estimate(*entry)


def training_check(results: StudyResults, rms: tuple[str, ...]) -> str | None:
    """Return why the listed RMs fail the training check, or None when they all pass.

    A single-objective RM passes when its held-out accuracy on its own objective is above chance,
    meaning its 95% interval lies above 0.5. The mixed RM must be above chance on both objectives.
    Without that, comparisons involving the RM measure noise, so the claim is inconclusive.
    """
    failures = []
    for rm in rms:
        objectives = ("helpful", "harmless") if rm == "mixed" else (rm,)
        for objective in objectives:
            estimate = heldout_estimate(results, rm, objective)
            if np.isnan(estimate.value):
                # An external RM (--rm-manifest) may carry no held-out numbers.
                failures.append(f"{rm} RM has no held-out {objective} accuracy")
            elif not estimate.low > 0.5:
                failures.append(f"{rm} RM held-out {objective} accuracy {fmt_estimate(estimate)} is not above chance")
    return "; ".join(failures) or None


def per_task_correct(results: StudyResults, model: str, ablation: str, tasks: list[str]) -> list[np.ndarray]:
    evaluation = results.evaluation(model, ablation)
    return [evaluation[task].correct for task in tasks]
