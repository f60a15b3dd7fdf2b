"""The record of one study (backbone x seed): every number the claims and tables are built from.

It is plain data, saved as JSON next to the report so that tables can be rebuilt and claims
re-checked without loading a model.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rmbench.cache_dir import atomic_write


@dataclass
class TaskEvaluation:
    """Per-item results of one model on one task."""

    format: str            # "pairwise" | "best_of_n" | "style_matrix"
    chosen: np.ndarray     # [n_items, n_chosen] rewards
    rejected: np.ndarray   # [n_items, n_rejected] rewards, NaN-padded for ragged best-of-n items

    @property
    def correct(self) -> np.ndarray:
        """Per-item correctness in [0, 1], recomputed from the rewards with the benchmark's rule."""
        from rmbench.metrics.accuracy import item_correct

        return np.asarray(item_correct(self.format, self.chosen, self.rejected), dtype=float)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.correct)) if len(self.correct) else float("nan")

    def to_json(self) -> dict:
        return {
            "format": self.format,
            "chosen": np.where(np.isnan(self.chosen), None, self.chosen).tolist(),
            "rejected": np.where(np.isnan(self.rejected), None, self.rejected).tolist(),
        }

    @classmethod
    def from_json(cls, raw: dict) -> "TaskEvaluation":
        def array(rows):
            return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)

        return cls(
            format=raw["format"],
            chosen=array(raw["chosen"]),
            rejected=array(raw["rejected"]),
        )


@dataclass
class StudyResults:
    profile: str
    backbone: str
    seed: int
    tasks: dict[str, dict]                         # task -> spec fields and item count
    heldout: dict[str, dict]                       # RM -> {"helpful": [acc, low, high], "harmless": [...]}
    evaluations: dict[str, dict[str, TaskEvaluation]]   # "model|ablation" -> task -> results
    length_control: dict[str, dict]                # "scorer" -> task -> accuracy; "prefers_longer" -> model -> task -> share
    neurons: dict[str, dict]                       # set sizes, layer shares, overlap, rmsd
    sweep: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    manifests: dict[str, dict] = field(default_factory=dict)
    unavailable_tasks: dict[str, str] = field(default_factory=dict)   # task -> why it was left out

    @property
    def label(self) -> str:
        return f"{self.backbone}/seed{self.seed}"

    def evaluation(self, model: str, ablation: str = "none") -> dict[str, TaskEvaluation]:
        key = f"{model}|{ablation}"
        if key not in self.evaluations:
            raise KeyError(f"no evaluation '{key}' in study {self.label}; have {sorted(self.evaluations)}")
        return self.evaluations[key]

    def tasks_of(self, orientation: str) -> list[str]:
        return [name for name, meta in self.tasks.items() if meta["orientation"] == orientation]

    def save(self, path: str | Path) -> None:
        raw = asdict(self)
        raw["evaluations"] = {
            key: {task: ev.to_json() for task, ev in per_task.items()}
            for key, per_task in self.evaluations.items()
        }
        atomic_write(Path(path), lambda temporary: temporary.write_text(json.dumps(raw)))

    @classmethod
    def load(cls, path: str | Path) -> "StudyResults":
        raw = json.loads(Path(path).read_text())
        raw["evaluations"] = {
            key: {task: TaskEvaluation.from_json(ev) for task, ev in per_task.items()}
            for key, per_task in raw["evaluations"].items()
        }
        return cls(**raw)
