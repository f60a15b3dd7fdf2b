"""Data types and errors of the evaluation tasks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ORIENTATIONS = ("helpful", "harmless")

# "ties" is RewardBench 2's Ties subset: several correct answers per prompt, scored by
# RewardBench 2's own Ties rule rather than by the best-of-n rule.
FORMATS = ("pairwise", "best_of_n", "style_matrix", "ties")


@dataclass(frozen=True)
class EvalItem:
    """One evaluation prompt with its preferred and dispreferred responses."""

    uid: str  # "<task name>/<id in the source>", stable across runs
    prompt: str  # dialogue prefix in HH format ("\n\nHuman: ...\n\nAssistant:")
    chosen: tuple[str, ...]  # 1 (pairwise, best-of-n), 3 (style matrix), several (ties)
    rejected: tuple[str, ...]  # 1 (pairwise), 2 or more (best-of-n), 3 (style matrix)


@dataclass(frozen=True)
class TaskSpec:
    """Static description of an evaluation task."""

    name: str  # "llmbar-natural", "xstest-should-refuse-reconstructed", ...
    # Column label in the tables of Tanwar and Atanasova, "Understanding helpfulness and
    # harmless tension in reward models" ("LB-Nat"). A reconstruction carries the label of
    # the task it stands in for, and "" marks a task outside those tables.
    paper_name: str
    orientation: str  # "helpful" | "harmless"
    format: str  # one of FORMATS
    source: str  # "RewardBench", "RewardBench 2", "RM-Bench", "LLMBar", ...
    reconstruction: bool  # rebuilt from raw upstream material, not the benchmark's own pairs


@dataclass(frozen=True)
class TaskStatus:
    """Availability of one task for a data directory (or the hub)."""

    name: str
    spec: TaskSpec
    n_items: int | None  # None when the task is unavailable
    unavailable_reason: str | None  # None when the task loaded

    @property
    def available(self) -> bool:
        return self.n_items is not None


class UnknownTask(LookupError):
    """A task name that is not in the registry; the message lists the known names."""

    def __init__(self, name: str, known: Iterable[str]):
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown task {name!r}; known tasks: {', '.join(self.known)}")


class TaskUnavailable(RuntimeError):
    """A registered task whose data cannot be loaded here; ``reason`` states the cause and the fix."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
