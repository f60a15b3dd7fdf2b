"""Synthetic `StudyResults` with known per-item outcomes, for testing claims without models."""

from __future__ import annotations

import numpy as np

from rmbench.pipeline.results import StudyResults, TaskEvaluation


def pairwise(correct: np.ndarray, margin: float = 1.0) -> TaskEvaluation:
    """Rewards that make exactly the `correct` items right, with the given margin."""
    correct = np.asarray(correct, dtype=bool)
    chosen = np.where(correct, margin, -margin)[:, None]
    rejected = np.zeros_like(chosen)
    return TaskEvaluation("pairwise", chosen.astype(float), rejected.astype(float))


def make_study(
    accuracy: dict[str, dict[str, float]],
    *,
    n_items: int = 200,
    heldout: float = 0.7,
    margins: dict[str, float] | None = None,
    seed: int = 0,
) -> StudyResults:
    """A study with one helpful and one harmless task; `accuracy[model][orientation]` sets the
    share of items each model gets right (items drawn at random per model)."""
    rng = np.random.default_rng(seed)
    margins = margins or {}
    tasks = {
        "help-task": {"paper_name": "H", "orientation": "helpful", "format": "pairwise", "source": "test",
                      "reconstruction": False, "n_items": n_items},
        "harm-task": {"paper_name": "S", "orientation": "harmless", "format": "pairwise", "source": "test",
                      "reconstruction": True, "n_items": n_items},
    }
    evaluations = {}
    for model, per_group in accuracy.items():
        per_task = {}
        for task, meta in tasks.items():
            correct = rng.random(n_items) < per_group[meta["orientation"]]
            per_task[task] = pairwise(correct, margins.get(model, 1.0))
        evaluations[f"{model}|none"] = per_task
    entry = {"accuracy": heldout, "low": heldout - 0.05, "high": heldout + 0.05}
    return StudyResults(
        profile="test",
        backbone="synthetic@2L",
        seed=seed,
        tasks=tasks,
        heldout={rm: {"helpful": entry, "harmless": entry} for rm in ("helpful", "harmless", "mixed")},
        evaluations=evaluations,
        length_control={"scorer": {t: 0.5 for t in tasks}, "prefers_longer": {}},
        neurons={},
    )
