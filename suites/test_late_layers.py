"""Claim 'late-layers': oriented neurons concentrate in the late third of the layers."""

from fixtures.checks import check_golden_range, check_verdict

CLAIM = "late-layers"


def test_metrics_in_golden_range(claim_result, golden_entry):
    check_golden_range(claim_result, golden_entry)


def test_claim_verdict(claim_result):
    check_verdict(claim_result)


def test_layer_shares_sum_to_one(study_results):
    for name, shares in study_results.neurons["layer_shares"].items():
        if study_results.neurons["set_sizes"][name] == 0:
            continue
        assert abs(sum(shares.values()) - 1.0) < 1e-9, f"{name}: {shares}"
