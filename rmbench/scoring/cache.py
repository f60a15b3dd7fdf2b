"""Scores of evaluation tasks, cached on disk and resumable.

One ``.npz`` file per (model_key, task, ablation_key, max_length, items fingerprint) under
``<cache root>/scores/``. Scoring writes a partial file every ``chunk_size`` texts, so an
interrupted run continues where it stopped. The final file is written to a temporary name and
renamed into place, so a reader never sees a half-written file. A file lock lets exactly one
process score a given task while others wait and then read its result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock

from rmbench.cache_dir import resolve_cache_dir
from rmbench.data import format_text
from rmbench.scoring.engine import score_texts

logger = logging.getLogger(__name__)

# Bump when the file layout or the meaning of stored scores changes, so old files are ignored.
CACHE_FORMAT_VERSION = 1


@dataclass
class TaskScores:
    """Rewards of one model on one task.

    ``chosen`` is ``[n_items, max n_chosen]`` and ``rejected`` is ``[n_items, max n_rejected]``,
    float64. An item with fewer responses than the widest item (best-of-n sets with unequal
    numbers of rejected responses) is padded with NaN at the end of its row.
    """

    chosen: np.ndarray
    rejected: np.ndarray
    uids: list[str]

    def __post_init__(self) -> None:
        if self.chosen.ndim != 2 or self.rejected.ndim != 2:
            raise ValueError(
                f"chosen and rejected must be 2-D, got shapes {self.chosen.shape} and {self.rejected.shape}"
            )
        if not (len(self.uids) == self.chosen.shape[0] == self.rejected.shape[0]):
            raise ValueError(
                f"row counts differ: {len(self.uids)} uids, chosen {self.chosen.shape}, rejected {self.rejected.shape}"
            )


def items_fingerprint(items: Sequence) -> str:
    """Return a sha256 over the uid, prompt and responses of every item, in order."""
    digest = hashlib.sha256()
    for item in items:
        record = [item.uid, item.prompt, list(item.chosen), list(item.rejected)]
        digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def score_cache_key(model_key: str, task_name: str, ablation_key: str, max_length: int, fingerprint: str) -> str:
    """Return the sha256 that names the score file of one (model, task, ablation, length, items) run."""
    fields = {
        "version": CACHE_FORMAT_VERSION,
        "model_key": model_key,
        "task": task_name,
        "ablation_key": ablation_key,
        "max_length": max_length,
        "items": fingerprint,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode("utf-8")).hexdigest()


def score_cache_path(cache_dir, task_name: str, key: str) -> Path:
    """Return the final ``.npz`` path for a cache key; the task name is kept only for readability."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", task_name)[:60]
    return resolve_cache_dir(cache_dir) / "scores" / f"{slug}-{key[:32]}.npz"


def flatten_texts(items: Sequence) -> tuple[list[str], list[int], list[int]]:
    """Return every (prompt, response) text of ``items``, chosen before rejected, item by item.

    Also returns each item's number of chosen and rejected responses, to rebuild the rows.
    """
    texts: list[str] = []
    n_chosen: list[int] = []
    n_rejected: list[int] = []
    for item in items:
        texts.extend(format_text(item.prompt, response) for response in item.chosen)
        texts.extend(format_text(item.prompt, response) for response in item.rejected)
        n_chosen.append(len(item.chosen))
        n_rejected.append(len(item.rejected))
    return texts, n_chosen, n_rejected


def unflatten_scores(flat: np.ndarray, n_chosen: Sequence[int], n_rejected: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Split flat rewards (layout of :func:`flatten_texts`) into NaN-padded chosen/rejected rows."""
    n_items = len(n_chosen)
    chosen = np.full((n_items, max(n_chosen, default=0)), np.nan)
    rejected = np.full((n_items, max(n_rejected, default=0)), np.nan)
    offset = 0
    for row, (c, r) in enumerate(zip(n_chosen, n_rejected)):
        chosen[row, :c] = flat[offset : offset + c]
        offset += c
        rejected[row, :r] = flat[offset : offset + r]
        offset += r
    if offset != len(flat):
        raise ValueError(f"expected {offset} rewards for these items, got {len(flat)}")
    return chosen, rejected


def score_task(
    model,
    tokenizer,
    model_key: str,
    task_name: str,
    items: Sequence,
    *,
    max_length: int,
    ablation_key: str = "none",
    cache_dir=None,
    batch_size: int = 16,
    max_tokens_per_batch: int | None = None,
    chunk_size: int = 256,
    progress: bool = True,
) -> TaskScores:
    """Score every response of ``items`` with ``model``, reading and writing the score cache.

    ``model_key`` must change whenever the weights change (for example a hash of the trained
    model directory), and ``ablation_key`` whenever neurons are ablated, because the cache trusts
    both. Rows follow ``items`` order. Partial results are saved every ``chunk_size`` texts.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    uids = [item.uid for item in items]
    key = score_cache_key(model_key, task_name, ablation_key, max_length, items_fingerprint(items))
    path = score_cache_path(cache_dir, task_name, key)
    path.parent.mkdir(parents=True, exist_ok=True)

    cached = _load_final(path, key, uids)
    if cached is not None:
        logger.info("score cache hit: task=%s model=%s ablation=%s file=%s", task_name, model_key, ablation_key, path.name)
        return cached

    with FileLock(str(path.with_suffix(".lock"))):
        # Another process may have finished this task while this one waited for the lock.
        cached = _load_final(path, key, uids)
        if cached is not None:
            logger.info("score cache hit after lock wait: task=%s file=%s", task_name, path.name)
            return cached

        texts, n_chosen, n_rejected = flatten_texts(items)
        partial_path = path.with_name(path.stem + ".partial.npz")
        flat = _load_partial(partial_path, key, len(texts))
        if len(flat):
            logger.info("resuming scoring: task=%s model=%s %d/%d texts already scored", task_name, model_key, len(flat), len(texts))
        else:
            logger.info("scoring task=%s model=%s ablation=%s: %d texts", task_name, model_key, ablation_key, len(texts))

        for start in range(len(flat), len(texts), chunk_size):
            chunk = score_texts(
                model,
                tokenizer,
                texts[start : start + chunk_size],
                max_length=max_length,
                batch_size=batch_size,
                max_tokens_per_batch=max_tokens_per_batch,
                progress=progress,
            )
            flat = np.concatenate([flat, chunk])
            _atomic_savez(partial_path, key=np.array(key), scores=flat)

        chosen, rejected = unflatten_scores(flat, n_chosen, n_rejected)
        _atomic_savez(
            path,
            key=np.array(key),
            chosen=chosen,
            rejected=rejected,
            uids=np.array(uids, dtype=np.str_),
            meta=np.array(
                json.dumps(
                    {"model_key": model_key, "task": task_name, "ablation_key": ablation_key, "max_length": max_length}
                )
            ),
        )
        partial_path.unlink(missing_ok=True)
    return TaskScores(chosen=chosen, rejected=rejected, uids=uids)


def _load_final(path: Path, key: str, uids: list[str]) -> TaskScores | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            stored_key = str(data["key"])
            chosen = data["chosen"]
            rejected = data["rejected"]
            stored_uids = [str(u) for u in data["uids"]]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        logger.warning("ignoring unreadable score cache file %s: %s", path, error)
        return None
    if stored_key != key or stored_uids != uids:
        logger.warning("ignoring score cache file %s: its key or uids do not match the request", path)
        return None
    return TaskScores(chosen=chosen, rejected=rejected, uids=stored_uids)


def _load_partial(path: Path, key: str, n_texts: int) -> np.ndarray:
    empty = np.zeros(0, dtype=np.float64)
    if not path.exists():
        return empty
    try:
        with np.load(path, allow_pickle=False) as data:
            stored_key = str(data["key"])
            scores = np.asarray(data["scores"], dtype=np.float64)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        logger.warning("ignoring unreadable partial score file %s: %s", path, error)
        return empty
    if stored_key != key or scores.ndim != 1 or len(scores) > n_texts:
        logger.warning("ignoring partial score file %s: it does not match the request", path)
        return empty
    return scores


def _atomic_savez(path: Path, **arrays: np.ndarray) -> None:
    """Write an ``.npz`` to a temporary file in the same directory, then rename it over ``path``."""
    descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
