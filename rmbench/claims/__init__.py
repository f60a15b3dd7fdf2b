"""The claims of Tanwar and Atanasova on reward-model tension, as functions of a study's results that return metrics with CIs and a verdict."""

from rmbench.claims.base import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, ClaimResult
from rmbench.claims.behaviour import interference, low_retention, score_compression, specialisation
from rmbench.claims.neurons import (
    ablation_asymmetry,
    late_layers,
    magnitude_beats_baselines,
    shared_dominance,
    small_rmsd,
)

CLAIMS = {
    "specialisation": specialisation,
    "interference": interference,
    "low-retention": low_retention,
    "score-compression": score_compression,
    "late-layers": late_layers,
    "ablation-asymmetry": ablation_asymmetry,
    "shared-dominance": shared_dominance,
    "small-rmsd": small_rmsd,
    "magnitude-beats-baselines": magnitude_beats_baselines,
}


def evaluate_claim(claim: str, results) -> ClaimResult:
    if claim not in CLAIMS:
        raise KeyError(f"unknown claim '{claim}'; known claims: {', '.join(CLAIMS)}")
    return CLAIMS[claim](results)


def evaluate_all(results) -> list[ClaimResult]:
    return [fn(results) for fn in CLAIMS.values()]


__all__ = [
    "CLAIMS", "ClaimResult", "HOLDS", "DOES_NOT_HOLD", "INCONCLUSIVE", "evaluate_all", "evaluate_claim",
]
