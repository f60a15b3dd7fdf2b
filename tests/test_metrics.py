"""Property and example tests for rmbench.metrics (accuracy, bootstrap, retention, compression, controls)."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rmbench.metrics import (
    Estimate,
    bootstrap_ci,
    chosen_longer_share,
    compression,
    correct_set,
    estimate,
    gaussian_kde,
    group_means,
    item_correct,
    item_margin,
    length_scorer_accuracy,
    longer_preference,
    matrix_accuracies,
    paired_bootstrap_diff,
    pairwise_retention,
    plot_reward_kde,
    response_token_lengths,
    retention,
    retention_expected_independent,
    retention_report,
    style_matrix,
    task_accuracy,
    ties_subset_score,
)

pytestmark = pytest.mark.unit

# Small integer rewards make ties common, which is where the scoring rules differ.
small_rewards = st.integers(min_value=-3, max_value=3).map(float)


def reward_matrix(n_columns: int, min_items: int = 1, max_items: int = 30):
    return hnp.arrays(
        np.float64,
        st.tuples(st.integers(min_items, max_items), st.just(n_columns)),
        elements=small_rewards,
    )


def brute_force_best_of_n(chosen: float, rejected: list[float]) -> float:
    candidates = [chosen] + [r for r in rejected if not np.isnan(r)]
    top = max(candidates)
    if chosen != top:
        return 0.0
    return 1.0 / sum(1 for c in candidates if c == top)


# ----------------------------------------------------------------------------- pairwise


def test_pairwise_tie_counts_wrong():
    chosen = np.array([[1.0], [2.0], [0.5]])
    rejected = np.array([[1.0], [1.0], [0.7]])
    np.testing.assert_array_equal(item_correct("pairwise", chosen, rejected), [0.0, 1.0, 0.0])


def test_pairwise_nan_reward_gives_nan():
    result = item_correct("pairwise", np.array([np.nan, 1.0]), np.array([0.0, 0.0]))
    assert np.isnan(result[0])
    assert result[1] == 1.0
    assert task_accuracy("pairwise", np.array([np.nan, 1.0]), np.array([0.0, 0.0])) == 1.0


@settings(max_examples=60, deadline=None)
@given(data=st.data(), rewards=reward_matrix(2))
def test_task_accuracy_invariant_to_item_order(data, rewards):
    permutation = data.draw(st.permutations(range(len(rewards))))
    shuffled = rewards[list(permutation)]
    original = task_accuracy("pairwise", rewards[:, :1], rewards[:, 1:])
    permuted = task_accuracy("pairwise", shuffled[:, :1], shuffled[:, 1:])
    assert original == pytest.approx(permuted, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(rewards=reward_matrix(2))
def test_pairwise_matches_strict_comparison(rewards):
    expected = [1.0 if c > r else 0.0 for c, r in rewards]
    np.testing.assert_array_equal(item_correct("pairwise", rewards[:, 0], rewards[:, 1]), expected)


def test_unknown_format_raises():
    with pytest.raises(ValueError, match="unknown format"):
        item_correct("listwise", [1.0], [0.0])


# ----------------------------------------------------------------------------- best of n


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_best_of_n_splits_top_tie(k):
    # The chosen reward ties with k - 1 of three rejected rewards at the top.
    rejected = [5.0] * (k - 1) + [1.0] * (3 - (k - 1))
    result = item_correct("best_of_n", np.array([[5.0]]), np.array([rejected]))
    assert result[0] == pytest.approx(1.0 / k)


def test_best_of_n_not_top_scores_zero():
    result = item_correct("best_of_n", np.array([[2.0], [2.0]]), np.array([[3.0, 3.0, 1.0], [1.0, 1.0, 1.0]]))
    np.testing.assert_array_equal(result, [0.0, 1.0])


@settings(max_examples=80, deadline=None)
@given(rewards=reward_matrix(5), n_padding=st.integers(0, 3))
def test_best_of_n_matches_brute_force(rewards, n_padding):
    chosen = rewards[:, :1]
    rejected = rewards[:, 1:].copy()
    # NaN padding at the end of a row stands for a missing candidate.
    if n_padding:
        rejected[::2, -n_padding:] = np.nan
    expected = [brute_force_best_of_n(c[0], list(r)) for c, r in zip(chosen, rejected)]
    np.testing.assert_allclose(item_correct("best_of_n", chosen, rejected), expected)


def test_best_of_n_without_candidates_is_nan():
    result = item_correct("best_of_n", np.array([[1.0]]), np.array([[np.nan, np.nan]]))
    assert np.isnan(result[0])


# ----------------------------------------------------------------------------- style matrix


def brute_force_matrix(chosen: np.ndarray, rejected: np.ndarray) -> np.ndarray:
    counts = np.zeros((3, 3))
    for c_row, r_row in zip(chosen, rejected):
        for i, j in itertools.product(range(3), range(3)):
            counts[i, j] += 1.0 if c_row[i] > r_row[j] else 0.0
    return counts / len(chosen)


@settings(max_examples=60, deadline=None)
@given(chosen=reward_matrix(3, max_items=15), data=st.data())
def test_style_matrix_matches_brute_force(chosen, data):
    rejected = data.draw(hnp.arrays(np.float64, chosen.shape, elements=small_rewards))
    expected = brute_force_matrix(chosen, rejected)
    np.testing.assert_allclose(style_matrix(chosen, rejected), expected, atol=1e-12)

    accuracies = matrix_accuracies(chosen, rejected)
    hard_cells = [expected[0, 1], expected[0, 2], expected[1, 2]]
    easy_cells = [expected[1, 0], expected[2, 0], expected[2, 1]]
    assert accuracies["hard"] == pytest.approx(np.mean(hard_cells))
    assert accuracies["normal"] == pytest.approx(np.mean(np.diag(expected)))
    assert accuracies["easy"] == pytest.approx(np.mean(easy_cells))
    assert accuracies["mean"] == pytest.approx(task_accuracy("style_matrix", chosen, rejected))
    assert accuracies["mean"] == pytest.approx(item_correct("style_matrix", chosen, rejected).mean())


def test_style_matrix_item_is_mean_of_nine():
    chosen = np.array([[3.0, 2.0, 1.0]])
    rejected = np.array([[2.5, 1.5, 0.5]])
    # Wins: row 0 beats all 3, row 1 beats 2, row 2 beats 1.
    assert item_correct("style_matrix", chosen, rejected)[0] == pytest.approx(6 / 9)


# ----------------------------------------------------------------------------- group means, ties


def test_group_means_unweighted_and_skip_nan():
    accuracies = {"a": 0.2, "b": 0.4, "c": 0.9, "d": float("nan")}
    orientations = {"a": "helpful", "b": "helpful", "c": "harmless", "d": "harmless"}
    assert group_means(accuracies, orientations) == {"helpful": pytest.approx(0.3), "harmless": 0.9}


def test_group_means_missing_orientation_raises():
    with pytest.raises(KeyError, match="no orientation"):
        group_means({"a": 0.5}, {})


def test_ties_subset_score_hand_example():
    uids = ["ref:1", "tied:1", "rewardbench2-ties/ref:2", "rewardbench2-ties/tied:2"]
    chosen = np.array(
        [
            [5.0, np.nan, np.nan],
            [5.0, 4.5, 4.0],  # correct margin 1.0, correct-incorrect margin 4.0 - 2.0 = 2.0
            [1.0, np.nan, np.nan],
            [3.0, 1.0, np.nan],  # correct margin 2.0, correct-incorrect margin 1.0 - 2.5 = -1.5
        ]
    )
    rejected = np.array([[3.0, 2.0], [2.0, 1.0], [2.0, 0.0], [2.5, 0.0]])
    result = ties_subset_score(uids, chosen, rejected)

    assert result["ref_accuracy"] == pytest.approx(0.5)  # ref:1 margin 2.0, ref:2 margin -1.0
    assert result["tied_accuracy"] == pytest.approx(0.5)
    assert result["correctness_preferred"] == pytest.approx(0.5)
    # min(ref, tied) margins: prompt 1 min(2, 2) = 2 > 1; prompt 2 min(-1, -1.5) = -1.5 < 2.
    assert result["correctness_preferred_hard"] == pytest.approx(0.5)
    expected_margin = np.mean([np.tanh(2.0 / 1.0 - 1), np.tanh(-1.5 / 2.0 - 1)])
    assert result["margin_score"] == pytest.approx(expected_margin)
    expected_overall = 0.3 * 0.5 + 0.3 * 0.5 + 0.2 * 0.5 + 0.2 * 0.5 + 0.01 * expected_margin
    assert result["overall"] == pytest.approx(expected_overall)


def test_ties_item_needs_all_correct_above_incorrect():
    chosen = np.array([[5.0, 4.0, np.nan], [5.0, 2.0, 3.0], [4.0, np.nan, np.nan]])
    rejected = np.array([[3.0, 1.0], [2.5, 0.0], [4.0, 1.0]])
    np.testing.assert_array_equal(item_correct("ties", chosen, rejected), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(item_margin("ties", chosen, rejected), [1.0, -0.5, 0.0])


def test_ties_subset_bad_uid_raises():
    with pytest.raises(ValueError, match="ref:<id>"):
        ties_subset_score(["x:1"], [[1.0]], [[0.0]])


# ----------------------------------------------------------------------------- bootstrap


@settings(max_examples=40, deadline=None)
@given(values=hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(-10, 10)))
def test_bootstrap_ci_contains_mean(values):
    point = float(np.mean(values))
    low, high = bootstrap_ci(values, n_boot=200, seed=1)
    tolerance = 1e-9 * max(1.0, float(np.abs(values).max()))
    assert low - tolerance <= point <= high + tolerance


def test_bootstrap_ci_is_seeded():
    values = np.random.default_rng(3).normal(size=50)
    assert bootstrap_ci(values, seed=7) == bootstrap_ci(values, seed=7)
    assert bootstrap_ci(values, seed=7) != bootstrap_ci(values, seed=8)


def test_bootstrap_ci_empty_is_nan():
    low, high = bootstrap_ci(np.zeros(0))
    assert np.isnan(low)
    assert np.isnan(high)


def test_paired_diff_of_identical_arrays_is_zero():
    values = np.random.default_rng(0).normal(size=30)
    result = paired_bootstrap_diff(values, values, n_boot=100)
    assert result.value == 0.0
    assert (result.low, result.high) == (0.0, 0.0)


def test_paired_diff_cancels_shared_noise():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=200)
    a = shared + 0.1
    b = shared + rng.normal(scale=0.01, size=200)
    paired = paired_bootstrap_diff(a, b, n_boot=300)
    assert paired.contains(0.1)
    assert paired.high - paired.low < 0.02


def test_estimate_fmt():
    assert Estimate(0.6123, 0.5512, 0.6689).fmt() == "0.612 [0.55, 0.67]"
    assert estimate([1.0, 1.0, 1.0]).fmt(2) == "1.00 [1.0, 1.0]"


# ----------------------------------------------------------------------------- retention

boolean_sets = st.integers(1, 40).flatmap(
    lambda n: st.tuples(*(hnp.arrays(np.bool_, n, elements=st.booleans()) for _ in range(3)))
)


@settings(max_examples=80, deadline=None)
@given(sets=boolean_sets)
def test_retention_in_unit_interval(sets):
    c_mixed, c_h, c_s = sets
    value = retention(c_mixed, c_h, c_s)
    if not (c_h | c_s).any():
        assert np.isnan(value)
    else:
        assert 0.0 <= value <= 1.0


@settings(max_examples=60, deadline=None)
@given(sets=boolean_sets, extra=st.data())
def test_retention_one_when_mixed_covers_union(sets, extra):
    _, c_h, c_s = sets
    if not (c_h | c_s).any():
        return
    others = extra.draw(hnp.arrays(np.bool_, len(c_h), elements=st.booleans()))
    c_mixed = c_h | c_s | others
    assert retention(c_mixed, c_h, c_s) == 1.0
    if c_h.any():
        assert pairwise_retention(c_mixed, c_h) == 1.0
    if c_s.any():
        assert pairwise_retention(c_mixed, c_s) == 1.0


@settings(max_examples=60, deadline=None)
@given(sets=boolean_sets, data=st.data())
def test_retention_invariant_to_item_order(sets, data):
    c_mixed, c_h, c_s = sets
    order = list(data.draw(st.permutations(range(len(c_h)))))
    original = retention(c_mixed, c_h, c_s)
    permuted = retention(c_mixed[order], c_h[order], c_s[order])
    assert (np.isnan(original) and np.isnan(permuted)) or original == permuted


def test_retention_hand_example():
    c_h = np.array([1, 1, 0, 0, 0], dtype=bool)
    c_s = np.array([0, 1, 1, 0, 0], dtype=bool)
    c_mixed = np.array([1, 0, 0, 1, 1], dtype=bool)
    assert retention(c_mixed, c_h, c_s) == pytest.approx(1 / 3)
    assert pairwise_retention(c_mixed, c_h) == pytest.approx(1 / 2)
    assert pairwise_retention(c_mixed, c_s) == 0.0
    assert retention_expected_independent(c_mixed, c_h, c_s) == pytest.approx(3 / 5)


def test_retention_report_fields():
    rng = np.random.default_rng(0)
    c_h, c_s, c_mixed = (rng.random(100) < p for p in (0.6, 0.5, 0.55))
    report = retention_report(c_mixed, c_h, c_s, n_boot=200)
    assert report["retention"].value == pytest.approx(retention(c_mixed, c_h, c_s))
    assert report["retention"].contains(report["retention"].value)
    expected_difference = retention(c_mixed, c_h, c_s) - c_mixed.mean()
    assert report["retention_minus_expected"].value == pytest.approx(expected_difference)
    assert report["n_union"] == int((c_h | c_s).sum())


def test_retention_unequal_lengths_raises():
    with pytest.raises(ValueError, match="different item counts"):
        retention(np.ones(3, bool), np.ones(4, bool), np.ones(3, bool))


def test_correct_set_rules():
    np.testing.assert_array_equal(correct_set("best_of_n", [1.0, 0.5, 0.0]), [True, False, False])
    np.testing.assert_array_equal(correct_set("style_matrix", [5 / 9, 4 / 9, 1.0]), [True, False, True])
    with pytest.raises(ValueError, match="NaN"):
        correct_set("pairwise", [1.0, np.nan])


# ----------------------------------------------------------------------------- compression


def test_compression_of_halved_rewards():
    rng = np.random.default_rng(0)
    chosen = rng.normal(1.0, 1.0, size=(80, 1))
    rejected = rng.normal(0.0, 1.0, size=(80, 1))
    single = SimpleNamespace(chosen=chosen, rejected=rejected)
    mixed = SimpleNamespace(chosen=chosen * 0.5, rejected=rejected * 0.5)
    result = compression(single, mixed, "pairwise", n_boot=100)

    assert result["n_both_correct"] == int((chosen > rejected).sum())
    assert result["abs_reward_ratio"].value == pytest.approx(0.5)
    assert result["margin_ratio"].value == pytest.approx(0.5)
    assert result["bt_confidence_ratio"].value < 1.0
    # Dividing by each RM's reward std removes a pure rescaling.
    assert result["normalized_margin_ratio"].value == pytest.approx(1.0)


def test_item_margin_formats():
    np.testing.assert_allclose(item_margin("best_of_n", [[2.0]], [[1.0, 1.5, np.nan]]), [0.5])
    np.testing.assert_allclose(item_margin("style_matrix", [[3.0, 2.0, 1.0]], [[1.0, 1.0, 1.0]]), [1.0])


def test_gaussian_kde_integrates_to_one():
    samples = np.random.default_rng(0).normal(size=300)
    grid = np.linspace(-8, 8, 2001)
    density = gaussian_kde(samples, grid)
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-3)


def test_plot_reward_kde_writes_png(tmp_path):
    rng = np.random.default_rng(0)
    path = plot_reward_kde({"single": rng.normal(size=50), "mixed": rng.normal(size=50) * 0.3}, tmp_path / "kde.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- length controls


def test_length_scorer_and_longer_preference():
    chosen_lengths = np.array([[10.0], [5.0], [7.0], [3.0]])
    rejected_lengths = np.array([[4.0], [9.0], [7.0], [8.0]])
    # Equal lengths are a tie, so the third item is wrong for the length scorer.
    assert length_scorer_accuracy("pairwise", chosen_lengths, rejected_lengths) == pytest.approx(0.25)

    chosen_rewards = np.array([[1.0], [0.0], [2.0], [1.0]])
    rejected_rewards = np.array([[0.0], [1.0], [0.0], [1.0]])
    result = longer_preference(chosen_rewards, rejected_rewards, chosen_lengths, rejected_lengths)
    assert result.n_equal_length == 1
    assert result.n_equal_reward == 1
    assert result.n_compared == 2
    assert result.share == 1.0

    share, n_pairs = chosen_longer_share(chosen_lengths, rejected_lengths)
    assert (share, n_pairs) == (pytest.approx(1 / 3), 3)


def test_response_token_lengths_pads_with_nan():
    class WordTokenizer:
        def __call__(self, texts, add_special_tokens=True):
            return {"input_ids": [text.split() for text in texts]}

    items = [
        SimpleNamespace(uid="a", prompt="p", chosen=("one two",), rejected=("x", "y z w")),
        SimpleNamespace(uid="b", prompt="p", chosen=("three",), rejected=("q",)),
    ]
    chosen, rejected = response_token_lengths(WordTokenizer(), items)
    np.testing.assert_array_equal(chosen, [[2.0], [1.0]])
    np.testing.assert_array_equal(rejected, [[1.0, 3.0], [1.0, np.nan]])
