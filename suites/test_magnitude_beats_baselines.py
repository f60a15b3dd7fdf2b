"""Claim 'magnitude-beats-baselines': magnitude-selected neurons matter more than change-selected or random ones."""

from fixtures.checks import check_golden_range, check_verdict

CLAIM = "magnitude-beats-baselines"


def test_metrics_in_golden_range(claim_result, golden_entry):
    check_golden_range(claim_result, golden_entry)


def test_claim_verdict(claim_result):
    check_verdict(claim_result)
