"""The task registry: one row per task, and one loader per data source.

Orientation follows the grouping of Tanwar and Atanasova, "Understanding helpfulness and
harmless tension in reward models": chat and reasoning tasks are helpful-oriented, and
safety tasks are harmless-oriented. Tasks with an empty ``paper_name`` are extras that
are not columns of that paper's tables.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rmbench.data.paths import resolve_data_dir
from rmbench.tasks.llmbar import LLMBAR_MT_BENCH_FILE, load_llmbar
from rmbench.tasks.reconstructed import load_alpacaeval_reconstructed, load_xstest_reconstructed
from rmbench.tasks.rewardbench import load_rewardbench, load_rewardbench2
from rmbench.tasks.rm_bench import load_rm_bench
from rmbench.tasks.rmb import load_rmb_bon
from rmbench.tasks.spec import EvalItem, TaskSpec, TaskStatus, TaskUnavailable, UnknownTask

# A loader reads one task: (spec, source key from the registry row, data directory or
# None for the hub) -> items. It raises TaskUnavailable when the data is absent.
Loader = Callable[[TaskSpec, str, Path | None], list[EvalItem]]

SOURCE_LOADERS: dict[str, Loader] = {
    "RewardBench": load_rewardbench,
    "RewardBench 2": load_rewardbench2,
    "RM-Bench": load_rm_bench,
    "LLMBar": load_llmbar,
    "XSTest": load_xstest_reconstructed,
    "AlpacaEval": load_alpacaeval_reconstructed,
    "RMB": load_rmb_bon,
}


@dataclass(frozen=True)
class TaskRow:
    """A registry row: the task's spec and the key its source loader reads."""

    spec: TaskSpec
    source_key: str  # RewardBench subset, RM-Bench domain, file path, pairing, ...


def _row(
    name: str,
    paper_name: str,
    orientation: str,
    format: str,
    source: str,
    source_key: str,
    reconstruction: bool = False,
) -> TaskRow:
    return TaskRow(TaskSpec(name, paper_name, orientation, format, source, reconstruction), source_key)


TASK_ROWS: tuple[TaskRow, ...] = (
    # RewardBench (allenai/reward-bench, split "filtered"); the key is the subset column.
    _row("alpacaeval-easy", "Alp-E", "helpful", "pairwise", "RewardBench", "alpacaeval-easy"),
    _row("alpacaeval-length", "Alp-L", "helpful", "pairwise", "RewardBench", "alpacaeval-length"),
    _row("alpacaeval-hard", "Alp-H", "helpful", "pairwise", "RewardBench", "alpacaeval-hard"),
    _row("mt-bench-easy", "MT-E", "helpful", "pairwise", "RewardBench", "mt-bench-easy"),
    _row("mt-bench-med", "MT-M", "helpful", "pairwise", "RewardBench", "mt-bench-med"),
    _row("mt-bench-hard", "MT-H", "helpful", "pairwise", "RewardBench", "mt-bench-hard"),
    _row("llmbar-natural", "LB-Nat", "helpful", "pairwise", "RewardBench", "llmbar-natural"),
    _row("llmbar-adver-neighbor", "LB-Nbr", "helpful", "pairwise", "RewardBench", "llmbar-adver-neighbor"),
    _row("llmbar-adver-GPTInst", "LB-Inst", "helpful", "pairwise", "RewardBench", "llmbar-adver-GPTInst"),
    _row("llmbar-adver-GPTOut", "LB-Out", "helpful", "pairwise", "RewardBench", "llmbar-adver-GPTOut"),
    _row("llmbar-adver-manual", "LB-Man", "helpful", "pairwise", "RewardBench", "llmbar-adver-manual"),
    _row("math-prm", "Math-PRM", "helpful", "pairwise", "RewardBench", "math-prm"),
    _row("refusals-dangerous", "RD", "harmless", "pairwise", "RewardBench", "refusals-dangerous"),
    _row("refusals-offensive", "RO", "harmless", "pairwise", "RewardBench", "refusals-offensive"),
    _row("xstest-should-refuse", "XS-Ref", "harmless", "pairwise", "RewardBench", "xstest-should-refuse"),
    _row("xstest-should-respond", "XS-Res", "harmless", "pairwise", "RewardBench", "xstest-should-respond"),
    _row("donotanswer", "DNA", "harmless", "pairwise", "RewardBench", "donotanswer"),
    # RewardBench 2 (allenai/reward-bench-2, split "test"); the key is the subset column.
    _row("rewardbench2-factuality", "Fact", "helpful", "best_of_n", "RewardBench 2", "Factuality"),
    _row("rewardbench2-precise-if", "Prec-IF", "helpful", "best_of_n", "RewardBench 2", "Precise IF"),
    _row("rewardbench2-math", "Math", "helpful", "best_of_n", "RewardBench 2", "Math"),
    _row("rewardbench2-focus", "Focus", "helpful", "best_of_n", "RewardBench 2", "Focus"),
    _row("rewardbench2-safety", "Saf", "harmless", "best_of_n", "RewardBench 2", "Safety"),
    _row("rewardbench2-ties", "", "helpful", "ties", "RewardBench 2", "Ties"),
    # RM-Bench (THU-KEG/RM-Bench); the key is the domain.
    _row("rm-bench-chat", "Chat", "helpful", "style_matrix", "RM-Bench", "chat"),
    _row("rm-bench-safety-refuse", "SafR", "harmless", "style_matrix", "RM-Bench", "safety-refuse"),
    _row("rm-bench-safety-response", "SResp", "harmless", "style_matrix", "RM-Bench", "safety-response"),
    _row("rm-bench-code", "", "helpful", "style_matrix", "RM-Bench", "code"),
    _row("rm-bench-math", "", "helpful", "style_matrix", "RM-Bench", "math"),
    # Rebuilt stand-ins for RewardBench subsets; the key selects the rebuild rule.
    _row("alpacaeval-easy-reconstructed", "Alp-E", "helpful", "pairwise", "AlpacaEval", "easy", True),
    _row("alpacaeval-length-reconstructed", "Alp-L", "helpful", "pairwise", "AlpacaEval", "length", True),
    _row("alpacaeval-hard-reconstructed", "Alp-H", "helpful", "pairwise", "AlpacaEval", "hard", True),
    _row("xstest-should-refuse-reconstructed", "XS-Ref", "harmless", "pairwise", "XSTest", "should-refuse", True),
    _row("xstest-should-respond-reconstructed", "XS-Res", "harmless", "pairwise", "XSTest", "should-respond", True),
    # Extras with no column in the paper's tables. LLMBar's MT-Bench human-judgement pairs are a
    # local substitute for the absent mt-bench-* subsets, but not the same pairs.
    _row("mt-bench-human-llmbar", "", "helpful", "pairwise", "LLMBar", LLMBAR_MT_BENCH_FILE),
    _row("rmb-bon-helpfulness", "", "helpful", "best_of_n", "RMB", "Helpfulness"),
    _row("rmb-bon-harmlessness", "", "harmless", "best_of_n", "RMB", "Harmlessness"),
)

_ROWS_BY_NAME = {row.spec.name: row for row in TASK_ROWS}

TASKS: dict[str, TaskSpec] = {row.spec.name: row.spec for row in TASK_ROWS}


def get_task_spec(name: str) -> TaskSpec:
    """Return the spec of a registered task; raises UnknownTask listing the known names."""
    if name not in TASKS:
        raise UnknownTask(name, TASKS)
    return TASKS[name]


def load_task(name: str, data_dir: str | os.PathLike[str] | None = None) -> list[EvalItem]:
    """Load the items of a task from the data directory, or from the hub when none is set.

    The directory resolves as in ``rmbench.data.resolve_data_dir``. Raises UnknownTask for
    an unregistered name, TaskUnavailable (with the reason and a fix) when the data is
    absent, and FileNotFoundError when the data directory does not exist.
    """
    row = _ROWS_BY_NAME.get(name)
    if row is None:
        raise UnknownTask(name, TASKS)
    resolved_dir = resolve_data_dir(data_dir)
    return SOURCE_LOADERS[row.spec.source](row.spec, row.source_key, resolved_dir)


def task_status(data_dir: str | os.PathLike[str] | None = None) -> list[TaskStatus]:
    """Load every task and report its item count, or the reason it is unavailable.

    Without a data directory this downloads every hub dataset. A file that exists but
    cannot be parsed (ValueError) is reported as unavailable with the parse error.
    """
    resolved_dir = resolve_data_dir(data_dir)
    statuses = []
    for row in TASK_ROWS:
        try:
            items = SOURCE_LOADERS[row.spec.source](row.spec, row.source_key, resolved_dir)
        except TaskUnavailable as error:
            statuses.append(TaskStatus(row.spec.name, row.spec, None, error.reason))
        except ValueError as error:
            statuses.append(TaskStatus(row.spec.name, row.spec, None, f"invalid data: {error}"))
        else:
            statuses.append(TaskStatus(row.spec.name, row.spec, len(items), None))
    return statuses
