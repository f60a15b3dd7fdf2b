"""Length controls: how far response length alone explains a task's accuracy and an RM's choices.

- Length-only scorer: reward = response length in tokens, scored with the same
  :func:`item_correct` rules (equal lengths are a tie, so wrong for pairwise items).
- Longer-response preference: the share of (chosen, rejected) pairs where the RM gives the
  higher reward to the longer response. A task has one pair per pairwise item, one per rejected
  response of a best-of-n item and nine per style matrix item. Pairs of equal length or equal
  reward are skipped and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rmbench.metrics.accuracy import as_reward_rows, task_accuracy


def response_token_lengths(tokenizer, items: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Return the token counts of each item's chosen and rejected responses, NaN-padded like TaskScores.

    Only the response is tokenized (no prompt, no special tokens).
    """
    def count(responses) -> list[int]:
        if not responses:
            return []
        return [len(ids) for ids in tokenizer(list(responses), add_special_tokens=False)["input_ids"]]

    n_items = len(items)
    width_chosen = max((len(item.chosen) for item in items), default=0)
    width_rejected = max((len(item.rejected) for item in items), default=0)
    chosen = np.full((n_items, width_chosen), np.nan)
    rejected = np.full((n_items, width_rejected), np.nan)
    for row, item in enumerate(items):
        chosen[row, : len(item.chosen)] = count(item.chosen)
        rejected[row, : len(item.rejected)] = count(item.rejected)
    return chosen, rejected


def length_scorer_accuracy(format: str, chosen_lengths, rejected_lengths) -> float:
    """Return the task accuracy of a scorer whose reward is the response length."""
    return task_accuracy(format, chosen_lengths, rejected_lengths)


def _flat_pairs(chosen, rejected) -> tuple[np.ndarray, np.ndarray]:
    """Return every (chosen, rejected) pair of each item as two flat arrays; NaN entries stay NaN."""
    chosen = as_reward_rows(chosen, "chosen")
    rejected = as_reward_rows(rejected, "rejected")
    if chosen.shape[0] != rejected.shape[0]:
        raise ValueError(f"chosen has {chosen.shape[0]} items but rejected has {rejected.shape[0]}")
    left = np.broadcast_to(chosen[:, :, None], (chosen.shape[0], chosen.shape[1], rejected.shape[1]))
    right = np.broadcast_to(rejected[:, None, :], left.shape)
    return left.ravel(), right.ravel()


@dataclass(frozen=True)
class LongerPreference:
    """Share of (chosen, rejected) pairs where the RM rewards the longer response higher."""

    share: float
    n_compared: int
    n_equal_length: int
    n_equal_reward: int


def longer_preference(chosen_rewards, rejected_rewards, chosen_lengths, rejected_lengths) -> LongerPreference:
    """Return how often an RM prefers the longer response over all (chosen, rejected) pairs.

    Pairs with a NaN reward or length (padding) are ignored. Pairs of equal length, then pairs of
    equal reward, are skipped and counted. ``share`` is NaN when no pair remains.
    """
    reward_left, reward_right = _flat_pairs(chosen_rewards, rejected_rewards)
    length_left, length_right = _flat_pairs(chosen_lengths, rejected_lengths)
    if reward_left.shape != length_left.shape:
        raise ValueError("rewards and lengths must have the same [n_items, n_responses] shapes")
    present = ~(np.isnan(reward_left) | np.isnan(reward_right) | np.isnan(length_left) | np.isnan(length_right))
    equal_length = present & (length_left == length_right)
    equal_reward = present & ~equal_length & (reward_left == reward_right)
    compared = present & ~equal_length & ~equal_reward
    prefers_longer = (reward_left > reward_right) == (length_left > length_right)
    n_compared = int(compared.sum())
    share = float(prefers_longer[compared].mean()) if n_compared else float("nan")
    return LongerPreference(share, n_compared, int(equal_length.sum()), int(equal_reward.sum()))


def chosen_longer_share(chosen_lengths, rejected_lengths) -> tuple[float, int]:
    """Return the share of unequal-length (chosen, rejected) pairs where the chosen response is longer, and that pair count."""
    left, right = _flat_pairs(chosen_lengths, rejected_lengths)
    compared = ~(np.isnan(left) | np.isnan(right)) & (left != right)
    n_compared = int(compared.sum())
    share = float((left[compared] > right[compared]).mean()) if n_compared else float("nan")
    return share, n_compared
