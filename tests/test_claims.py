"""Claim verdicts on synthetic studies whose outcome is known by construction."""

import numpy as np
import pytest

from rmbench.claims import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, evaluate_claim
from rmbench.claims.behaviour import task_retention
from rmbench.pipeline.results import StudyResults
from tests.study_factory import make_study

SPECIALISED = {
    "helpful": {"helpful": 0.8, "harmless": 0.3},
    "harmless": {"helpful": 0.4, "harmless": 0.85},
    "mixed": {"helpful": 0.6, "harmless": 0.6},
    "untrained": {"helpful": 0.5, "harmless": 0.5},
}


def test_specialisation_holds_when_each_rm_wins_its_group():
    result = evaluate_claim("specialisation", make_study(SPECIALISED))
    assert result.verdict == HOLDS
    assert result.metrics["gap_on_helpful_tasks"].value > 0.2
    assert result.metrics["gap_on_harmless_tasks"].value > 0.4


def test_specialisation_fails_when_roles_swap():
    swapped = dict(SPECIALISED, helpful=SPECIALISED["harmless"], harmless=SPECIALISED["helpful"])
    result = evaluate_claim("specialisation", make_study(swapped))
    assert result.verdict == DOES_NOT_HOLD
    assert "must be positive" in result.reason


def test_chance_heldout_makes_claims_inconclusive():
    study = make_study(SPECIALISED, heldout=0.5)
    for claim in ("specialisation", "interference", "low-retention", "score-compression"):
        result = evaluate_claim(claim, study)
        assert result.verdict == INCONCLUSIVE, claim
        assert "not above chance" in result.reason


def test_interference_holds_when_mixed_trails_specialists():
    result = evaluate_claim("interference", make_study(SPECIALISED))
    assert result.verdict == HOLDS


def test_retention_is_one_when_mixed_is_always_right():
    perfect = dict(SPECIALISED, mixed={"helpful": 1.0, "harmless": 1.0})
    study = make_study(perfect)
    for task in study.tasks:
        assert task_retention(study, task)["retention"] == 1.0
    result = evaluate_claim("low-retention", study)
    assert result.verdict == DOES_NOT_HOLD


def test_score_compression_uses_scale_aware_ratio():
    # The mixed RM's rewards are 10x smaller but equally separated relative to its own scale:
    # the raw ratio reports compression, the scale-aware one does not.
    study = make_study(SPECIALISED, margins={"mixed": 0.1, "helpful": 1.0, "harmless": 1.0})
    result = evaluate_claim("score-compression", study)
    assert result.metrics["margin_ratio_vs_helpful"].value == pytest.approx(0.1)
    assert result.metrics["normalised_margin_ratio_vs_helpful"].value == pytest.approx(1.0, rel=0.2)


def test_unknown_claim_lists_known_ones():
    with pytest.raises(KeyError, match="specialisation"):
        evaluate_claim("no-such-claim", make_study(SPECIALISED))


def test_results_roundtrip_through_json(tmp_path):
    study = make_study(SPECIALISED)
    study.evaluations["mixed|none"]["help-task"].rejected[0, 0] = np.nan
    study.save(tmp_path / "study.json")
    loaded = StudyResults.load(tmp_path / "study.json")
    original = study.evaluation("mixed")["help-task"]
    restored = loaded.evaluation("mixed")["help-task"]
    assert np.array_equal(original.chosen, restored.chosen)
    assert np.isnan(restored.rejected[0, 0])
    assert np.array_equal(original.correct, restored.correct, equal_nan=True)


def _with_neurons(study, late_share=0.6):
    shares = {"early": (1 - late_share) / 2, "middle": (1 - late_share) / 2, "late": late_share}
    study.neurons = {
        "tau": 10,
        "total_neurons": 1000,
        "num_layers": 6,
        "set_sizes": {"N_H": 100, "N_S": 100, "N_HS": 100, "shared": 50, "helpful_only": 50, "harmless_only": 50},
        "layer_shares": {name: shares for name in ("N_H", "N_S", "N_HS", "shared", "helpful_only", "harmless_only")},
        "overlap": {"shared_of_helpful": 0.5, "shared_of_harmless": 0.5},
        "neuron_retention": 0.55,
        "rmsd": {"helpful": 0.001, "harmless": 0.001, "mixed": 0.001},
        "activation_scale": {"helpful": 0.1, "harmless": 0.1, "mixed": 0.1},
    }
    return study


def _ablated(study, model, ablation, accuracy):
    from tests.study_factory import pairwise

    rng = np.random.default_rng(7)
    study.evaluations[f"{model}|{ablation}"] = {
        task: pairwise(rng.random(meta["n_items"]) < accuracy[meta["orientation"]])
        for task, meta in study.tasks.items()
    }


def test_late_layers_verdict_follows_shares():
    assert evaluate_claim("late-layers", _with_neurons(make_study(SPECIALISED), 0.6)).verdict == HOLDS
    assert evaluate_claim("late-layers", _with_neurons(make_study(SPECIALISED), 0.2)).verdict == DOES_NOT_HOLD


def test_late_layers_inconclusive_with_untrained_mixed_rm():
    study = _with_neurons(make_study(SPECIALISED), 0.6)
    study.heldout["mixed"]["helpful"] = {"accuracy": 0.5, "low": 0.43, "high": 0.57}
    assert evaluate_claim("late-layers", study).verdict == INCONCLUSIVE


def test_ablation_asymmetry_needs_a_clear_own_drop():
    study = _with_neurons(make_study(SPECIALISED))
    _ablated(study, "helpful", "N_H", {"helpful": 0.3, "harmless": 0.5})
    _ablated(study, "harmless", "N_S", {"helpful": 0.5, "harmless": 0.3})
    _ablated(study, "mixed", "N_HS", {"helpful": 0.5, "harmless": 0.5})
    assert evaluate_claim("ablation-asymmetry", study).verdict == HOLDS

    # The harmless RM barely changes: its own drop is noise, so the claim does not hold.
    _ablated(study, "harmless", "N_S", {"helpful": 0.4, "harmless": 0.85})
    result = evaluate_claim("ablation-asymmetry", study)
    assert result.verdict == DOES_NOT_HOLD
    assert "harmless RM" in result.reason
