"""RMB best-of-n tasks from the RMB GitHub repository (Zhou-Zoey/RMB-Reward-Model-Benchmark).

Each record of ``RMB_dataset/BoN_set/<goal>/**/*.json`` contains a dialogue
(``conversation_input``, a list of ``{role, content}`` turns ending with a user turn),
the best answer ``bon_best`` and two or more worse answers in ``loser_list``.
"""

from __future__ import annotations

from pathlib import Path

from rmbench.data.paths import DATA_DIR_ENV
from rmbench.data.transcripts import format_dialogue
from rmbench.tasks.readers import read_rows, require_fields
from rmbench.tasks.spec import EvalItem, TaskSpec, TaskUnavailable

RMB_BON_FOLDER = "rmb/RMB_dataset/BoN_set"


def load_rmb_bon(spec: TaskSpec, goal: str, data_dir: Path | None) -> list[EvalItem]:
    """Load the RMB best-of-n records of one goal ("Helpfulness" or "Harmlessness").

    Files are read in sorted path order. uids are ``<task>/<bon_uid>``. Raises
    TaskUnavailable without a data directory or when the goal's folder contains no files.
    """
    if data_dir is None:
        raise TaskUnavailable(
            f"needs a local data directory: RMB is distributed on GitHub "
            f"(Zhou-Zoey/RMB-Reward-Model-Benchmark), not on the hub; set {DATA_DIR_ENV}"
        )
    folder = data_dir / RMB_BON_FOLDER / goal
    paths = sorted(folder.rglob("*.json"))
    if not paths:
        raise TaskUnavailable(f"not available offline: no RMB best-of-n files under {folder}")

    items = []
    for path in paths:
        rows = read_rows(path)
        require_fields(rows, ("conversation_input", "bon_best", "loser_list", "bon_uid"), str(path))
        for row in rows:
            turns = [(turn["role"], turn["content"]) for turn in row["conversation_input"]]
            items.append(
                EvalItem(
                    uid=f"{spec.name}/{row['bon_uid']}",
                    prompt=format_dialogue(turns),
                    chosen=(row["bon_best"]["answer"],),
                    rejected=tuple(loser["answer"] for loser in row["loser_list"]),
                )
            )
    return items
