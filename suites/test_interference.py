"""Claim 'interference': the mixed RM falls short of the specialist on the specialist's own task group."""

from fixtures.checks import check_golden_range, check_verdict

CLAIM = "interference"


def test_metrics_in_golden_range(claim_result, golden_entry):
    check_golden_range(claim_result, golden_entry)


def test_claim_verdict(claim_result):
    check_verdict(claim_result)
