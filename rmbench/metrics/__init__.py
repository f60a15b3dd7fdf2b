"""Accuracy, retention, compression, length controls and bootstrap intervals over items."""

from rmbench.metrics.accuracy import (
    FORMATS,
    group_means,
    item_correct,
    matrix_accuracies,
    style_matrix,
    task_accuracy,
    ties_subset_score,
)
from rmbench.metrics.bootstrap import Estimate, bootstrap_ci, estimate, estimate_statistic, paired_bootstrap_diff
from rmbench.metrics.compression import compression, gaussian_kde, item_margin, plot_reward_kde
from rmbench.metrics.controls import (
    LongerPreference,
    chosen_longer_share,
    length_scorer_accuracy,
    longer_preference,
    response_token_lengths,
)
from rmbench.metrics.retention import (
    correct_set,
    pairwise_retention,
    retention,
    retention_expected_independent,
    retention_report,
)

__all__ = [
    "FORMATS",
    "Estimate",
    "LongerPreference",
    "bootstrap_ci",
    "chosen_longer_share",
    "compression",
    "correct_set",
    "estimate",
    "estimate_statistic",
    "gaussian_kde",
    "group_means",
    "item_correct",
    "item_margin",
    "length_scorer_accuracy",
    "longer_preference",
    "matrix_accuracies",
    "paired_bootstrap_diff",
    "pairwise_retention",
    "plot_reward_kde",
    "response_token_lengths",
    "retention",
    "retention_expected_independent",
    "retention_report",
    "style_matrix",
    "task_accuracy",
    "ties_subset_score",
]
