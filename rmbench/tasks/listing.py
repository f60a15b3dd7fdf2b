"""Text table of task availability, printed by ``rmbench tasks``."""

from __future__ import annotations

from collections.abc import Iterable

from tabulate import tabulate

from rmbench.tasks.spec import TaskStatus

HEADERS = ("task", "paper", "orientation", "format", "source", "rebuilt", "items", "status")

# Width limit of the status column, in characters; longer reasons wrap.
STATUS_WIDTH = 70


def format_task_table(rows: Iterable[TaskStatus], tablefmt: str = "simple") -> str:
    """Render ``task_status`` rows as a table, one line block per task.

    The items column is "-" for an unavailable task, whose status column contains the reason.
    ``tablefmt`` is any tabulate format ("simple", "github", ...).
    """
    table = []
    for row in rows:
        spec = row.spec
        table.append(
            (
                row.name,
                spec.paper_name or "-",
                spec.orientation,
                spec.format,
                spec.source,
                "yes" if spec.reconstruction else "no",
                "-" if row.n_items is None else row.n_items,
                "ok" if row.unavailable_reason is None else row.unavailable_reason,
            )
        )
    return tabulate(
        table,
        headers=HEADERS,
        tablefmt=tablefmt,
        maxcolwidths=[None] * (len(HEADERS) - 1) + [STATUS_WIDTH],
        disable_numparse=True,
    )
