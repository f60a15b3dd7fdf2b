"""Claim 'small-rmsd': chosen and rejected inputs activate nearly the same neurons."""

from fixtures.checks import check_golden_range, check_verdict

CLAIM = "small-rmsd"


def test_metrics_in_golden_range(claim_result, golden_entry):
    check_golden_range(claim_result, golden_entry)


def test_claim_verdict(claim_result):
    check_verdict(claim_result)
