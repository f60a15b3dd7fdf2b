"""Evaluation tasks: RewardBench, RewardBench 2, RM-Bench and local stand-ins."""

from rmbench.tasks.listing import format_task_table
from rmbench.tasks.registry import (
    SOURCE_LOADERS,
    TASK_ROWS,
    TASKS,
    TaskRow,
    get_task_spec,
    load_task,
    task_status,
)
from rmbench.tasks.spec import (
    FORMATS,
    ORIENTATIONS,
    EvalItem,
    TaskSpec,
    TaskStatus,
    TaskUnavailable,
    UnknownTask,
)

__all__ = [
    "FORMATS",
    "ORIENTATIONS",
    "SOURCE_LOADERS",
    "TASKS",
    "TASK_ROWS",
    "EvalItem",
    "TaskRow",
    "TaskSpec",
    "TaskStatus",
    "TaskUnavailable",
    "UnknownTask",
    "format_task_table",
    "get_task_spec",
    "load_task",
    "task_status",
]
