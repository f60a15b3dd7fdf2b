"""Reward scoring: batched inference and the on-disk score cache."""

from rmbench.scoring.cache import TaskScores, cache_root, score_task
from rmbench.scoring.engine import score_texts

__all__ = ["TaskScores", "cache_root", "score_task", "score_texts"]
