"""Reward scoring: batched inference and the on-disk score cache."""

from rmbench.scoring.cache import TaskScores, score_task
from rmbench.scoring.engine import score_texts

__all__ = ["TaskScores", "score_task", "score_texts"]
