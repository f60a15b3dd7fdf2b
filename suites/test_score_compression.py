"""Claim 'score-compression': where both get an item right, the mixed RM's rewards sit closer to zero."""

from fixtures.checks import check_golden_range, check_verdict

CLAIM = "score-compression"


def test_metrics_in_golden_range(claim_result, golden_entry):
    check_golden_range(claim_result, golden_entry)


def test_claim_verdict(claim_result):
    check_verdict(claim_result)
