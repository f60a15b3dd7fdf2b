"""Claim 'specialisation': each single-objective RM is best on its own task group."""

from fixtures.checks import check_golden_range, check_verdict

CLAIM = "specialisation"


def test_metrics_in_golden_range(claim_result, golden_entry):
    check_golden_range(claim_result, golden_entry)


def test_claim_verdict(claim_result):
    check_verdict(claim_result)
