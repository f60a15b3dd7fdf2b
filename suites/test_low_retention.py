"""Claim 'low-retention': the mixed RM keeps only part of what the single RMs got right."""

from fixtures.checks import check_golden_range, check_verdict

CLAIM = "low-retention"


def test_metrics_in_golden_range(claim_result, golden_entry):
    check_golden_range(claim_result, golden_entry)


def test_claim_verdict(claim_result):
    check_verdict(claim_result)


def test_retention_within_unit_interval(claim_result):
    for name in ("retention_helpful_tasks", "retention_harmless_tasks"):
        value = claim_result.metrics[name].value
        assert 0.0 <= value <= 1.0, f"{name} = {value}"
