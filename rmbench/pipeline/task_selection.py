"""Selection of the evaluation tasks and items that a profile runs on."""

from __future__ import annotations

import logging

import numpy as np

from rmbench.profiles import Profile

logger = logging.getLogger(__name__)

# Tasks absent from the paper's tables that replace one of its tasks offline: LLMBar's MT-Bench
# human-judgement pairs replace RewardBench's mt-bench-easy/med/hard, which are hub-only.
PAPER_STAND_INS = ("mt-bench-human-llmbar",)


def select_task_items(profile: Profile, data_dir=None, unavailable: dict[str, str] | None = None) -> dict[str, list]:
    """Load the profile's tasks and take a seeded, order-independent subsample of each.

    `tasks: paper` means the tasks of the paper's tables plus the MT-Bench stand-in built from
    LLMBar's human judgements; `tasks: all` means every registered task; a list names tasks.
    Tasks whose data cannot be loaded are logged with their reason and left out. The subsample depends only on the
    item uids, so every RM and every ablation sees exactly the same items.
    """
    from rmbench.tasks import TASKS, TaskUnavailable, load_task

    wanted = profile.evaluation.tasks
    if wanted == "paper":
        names = [name for name, spec in TASKS.items() if spec.paper_name or name in PAPER_STAND_INS]
    elif wanted in ("all", "offline"):
        names = list(TASKS)
    elif isinstance(wanted, str):
        raise ValueError(
            f"profile {profile.name}: invalid evaluation.tasks '{wanted}'; use paper, all or a list of task names"
        )
    else:
        names = list(wanted)
    limit = profile.evaluation.items_per_task

    selected: dict[str, list] = {}
    for name in names:
        try:
            items = load_task(name, data_dir=data_dir)
        except TaskUnavailable as exc:
            logger.warning("task %s is not available and is left out: %s", name, exc)
            if unavailable is not None:
                unavailable[name] = str(exc)
            continue
        if limit is not None and len(items) > limit:
            order = np.argsort([_uid_rank(item.uid) for item in items], kind="stable")
            items = [items[i] for i in sorted(order[:limit])]
        selected[name] = items

    if not selected:
        raise RuntimeError(
            "no evaluation task could be loaded; run `rmbench tasks` to see why each is "
            "unavailable, and set RMBENCH_DATA_DIR or --data-dir to the local data directory"
        )
    return selected


def _uid_rank(uid: str) -> int:
    import hashlib

    return int(hashlib.sha1(uid.encode()).hexdigest()[:12], 16)
