"""Claim 'shared-dominance': about half of N_H and N_S are shared, and ablating them hurts the mixed RM most."""

from fixtures.checks import check_golden_range, check_verdict

CLAIM = "shared-dominance"


def test_metrics_in_golden_range(claim_result, golden_entry):
    check_golden_range(claim_result, golden_entry)


def test_claim_verdict(claim_result):
    check_verdict(claim_result)


def test_partition_sizes_add_up(study_results):
    sizes = study_results.neurons["set_sizes"]
    assert sizes["shared"] + sizes["helpful_only"] == sizes["N_H"]
    assert sizes["shared"] + sizes["harmless_only"] == sizes["N_S"]
