"""Claim 'ablation-asymmetry': ablating an RM's own oriented neurons hurts its objective and spares or helps the other."""

from fixtures.checks import check_golden_range, check_verdict

CLAIM = "ablation-asymmetry"


def test_metrics_in_golden_range(claim_result, golden_entry):
    check_golden_range(claim_result, golden_entry)


def test_claim_verdict(claim_result):
    check_verdict(claim_result)
