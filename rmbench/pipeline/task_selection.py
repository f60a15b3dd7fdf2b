"""Which evaluation tasks and items a profile runs on."""

from __future__ import annotations

import logging

import numpy as np

from rmbench.profiles import Profile

logger = logging.getLogger(__name__)


def select_task_items(profile: Profile, data_dir=None) -> dict[str, list]:
    """Load the profile's tasks and take a seeded, order-independent subsample of each.

    `tasks: offline` (or `all`) means every registered task whose data can be loaded; tasks that
    are unavailable are logged with their reason and left out. The subsample depends only on the
    item uids, so every RM and every ablation sees exactly the same items.
    """
    from rmbench.tasks import TASKS, TaskUnavailable, load_task

    wanted = profile.evaluation.tasks
    names = list(TASKS) if wanted in ("offline", "all") else list(wanted)
    limit = profile.evaluation.items_per_task

    selected: dict[str, list] = {}
    for name in names:
        try:
            items = load_task(name, data_dir=data_dir)
        except TaskUnavailable as exc:
            logger.info("task %s skipped: %s", name, exc)
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
