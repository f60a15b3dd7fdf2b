"""On-disk cache of trained reward models, shared by processes and pytest-xdist workers.

Layout under the cache root (``$RMBENCH_CACHE``, else ``~/.cache/rmbench``)::

    models/<key>/          a finished model: config, weights, tokenizer, manifest.json (written last)
    models/.tmp-<key>/     training in progress; kept after an interruption so the next run resumes
    locks/<key>.lock       held by the one process that trains <key>; the others wait, then load

``<key>`` is :meth:`TrainConfig.cache_key`. A folder under ``models/`` without a readable
manifest or without its weights file is treated as corrupt: it is logged, deleted and retrained.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path

from rmbench.cache_dir import build_once, lock_path_for, remove_tree, resolve_cache_dir, temp_path_for
from rmbench.training.config import TrainConfig
from rmbench.training.trainer import MANIFEST_NAME, WEIGHTS_NAME, train_reward_model

logger = logging.getLogger(__name__)

MODELS_DIR = "models"


class InvalidManifest(ValueError):
    """Raised by :func:`read_manifest` for a missing or unreadable manifest."""


def read_manifest(path: str | os.PathLike) -> dict:
    """Return the manifest of a model folder (or of a ``manifest.json`` path given directly).

    Raises :class:`InvalidManifest` when the file is missing, is not a JSON object, or lacks a cache key.
    """
    path = Path(path)
    manifest_path = path if path.name == MANIFEST_NAME else path / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise InvalidManifest(f"{manifest_path} not found") from None
    except (OSError, json.JSONDecodeError) as error:
        raise InvalidManifest(f"{manifest_path} is not readable JSON: {error}") from error
    if not isinstance(manifest, dict) or not manifest.get("cache_key"):
        raise InvalidManifest(f"{manifest_path} has no cache_key")
    return manifest


def is_complete_model(folder: Path) -> bool:
    """Return True when ``folder`` contains a valid manifest and the weights file it names."""
    try:
        manifest = read_manifest(folder)
    except InvalidManifest:
        return False
    weights = folder / manifest.get("weights_file", WEIGHTS_NAME)
    return (folder / "config.json").is_file() and weights.is_file() and weights.stat().st_size > 0


def model_path(key: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Return where the model with cache key ``key`` lives (whether or not it exists yet)."""
    return resolve_cache_dir(cache_dir) / MODELS_DIR / key


def get_or_train(cfg: TrainConfig, cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the folder of the trained model for ``cfg``, training it first if the cache lacks it.

    Exactly one process trains a given key. It takes ``locks/<key>.lock`` while training in
    ``models/.tmp-<key>`` and then renames that folder into place. Other processes block on the
    lock and return the finished folder. An interrupted run leaves its checkpoints in the temporary
    folder, and the next call resumes from the last complete checkpoint.

    Under a distributed launch (``WORLD_SIZE`` > 1, as set by ``accelerate launch`` and
    ``torchrun``) every process trains. Global rank 0 alone takes the lock and renames the folder,
    and every process returns once that rename is done.
    """
    key = cfg.cache_key()
    root = resolve_cache_dir(cache_dir)
    target = root / MODELS_DIR / key
    description = f"RM {cfg.backbone}/{cfg.objective}/seed{cfg.seed} ({key[:12]})"

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return _get_or_train_distributed(cfg, key, target, root, description)

    build_once(
        target,
        lambda tmp: train_reward_model(cfg, tmp, cache_key=key),
        is_valid=is_complete_model,
        lock_path=lock_path_for(root, key),
        keep_partial=True,
        description=description,
    )
    return target


def _get_or_train_distributed(cfg: TrainConfig, key: str, target: Path, root: Path, description: str) -> Path:
    import torch.distributed as dist
    from filelock import FileLock

    # NOTE: each rank checks the cache on its own. If another job finishes this key between the
    # checks of two ranks, the ranks disagree and the one that trains waits in its first collective
    # until the ddp_timeout (30 min by default).
    if is_complete_model(target):
        return target
    is_main = int(os.environ.get("RANK", "0")) == 0
    tmp = temp_path_for(target)
    # Only global rank 0 takes the lock. While it waits, the other ranks wait in the Trainer's
    # first collective.
    lock = FileLock(str(lock_path_for(root, key))) if is_main else contextlib.nullcontext()
    with lock:
        logger.info("Training %s in %d processes", description, int(os.environ["WORLD_SIZE"]))
        train_reward_model(cfg, tmp, cache_key=key)
        if is_main:
            if is_complete_model(target):
                logger.info("%s was built by another job meanwhile; discarding this run", description)
                remove_tree(tmp)
            else:
                if not is_complete_model(tmp):
                    raise RuntimeError(f"Training {description} finished but {tmp} has no valid manifest or weights")
                if target.exists():
                    logger.warning("Cache entry %s is corrupt; replacing it", target)
                    remove_tree(target)
                os.replace(tmp, target)
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
    return target


def _folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def list_cache(cache_dir: str | os.PathLike | None = None) -> list[dict]:
    """Return one row per cached model folder, newest first.

    Each row has key, backbone, num_layers, objective, seed, the held-out accuracies, size in bytes,
    creation date and status: "complete", "corrupt" or "partial" (an interrupted training folder).
    """
    models = resolve_cache_dir(cache_dir) / MODELS_DIR
    if not models.is_dir():
        return []
    rows = []
    for folder in models.iterdir():
        if not folder.is_dir() or folder.name.startswith(".deleting-"):
            continue
        partial = folder.name.startswith(".tmp-")
        key = folder.name.removeprefix(".tmp-")
        row = {
            "key": key,
            "status": "partial" if partial else "corrupt",
            "backbone": None,
            "num_layers": None,
            "objective": None,
            "seed": None,
            "heldout_helpful": None,
            "heldout_harmless": None,
            "size_bytes": _folder_size(folder),
            "created_at": datetime.fromtimestamp(folder.stat().st_mtime, timezone.utc).isoformat(timespec="seconds"),
            "path": str(folder),
        }
        if not partial and is_complete_model(folder):
            manifest = read_manifest(folder)
            config = manifest.get("config", {})
            heldout = manifest.get("heldout", {})
            row.update(
                status="complete",
                backbone=config.get("backbone"),
                num_layers=config.get("num_layers"),
                objective=config.get("objective"),
                seed=config.get("seed"),
                heldout_helpful=heldout.get("helpful"),
                heldout_harmless=heldout.get("harmless"),
                created_at=manifest.get("created_at", row["created_at"]),
            )
        rows.append(row)
    rows.sort(key=lambda row: row["created_at"], reverse=True)
    return rows


def clear_cache(
    cache_dir: str | os.PathLike | None = None,
    *,
    keys: list[str] | None = None,
    backbone: str | None = None,
    objective: str | None = None,
    include_partial: bool = True,
) -> int:
    """Delete cached models matching every given filter (no filter: all of them); return how many were deleted.

    Each folder is deleted under its key's lock, so a model is never removed while it trains. The
    call waits for such a training to finish first. Corrupt and partial folders match only the
    ``keys`` filter and are skipped when ``backbone`` or ``objective`` is set.
    """
    from filelock import FileLock

    root = resolve_cache_dir(cache_dir)
    deleted = 0
    for row in list_cache(root):
        if keys is not None and row["key"] not in keys:
            continue
        if backbone is not None and row["backbone"] != backbone:
            continue
        if objective is not None and row["objective"] != objective:
            continue
        if row["status"] == "partial" and not include_partial:
            continue
        with FileLock(str(lock_path_for(root, row["key"]))):
            remove_tree(Path(row["path"]))
        logger.info("Deleted cached model %s (%s)", row["path"], row["status"])
        deleted += 1
    return deleted


def _format_heldout(entry: dict | None) -> str | None:
    if not entry or entry.get("accuracy") is None:
        return None
    return f"{entry['accuracy']:.3f} [{entry['ci_low']:.2f}, {entry['ci_high']:.2f}] n={entry['n']}"


def format_cache_table(rows: list[dict]) -> str:
    """Format :func:`list_cache` rows as a plain-text table, sizes in MB."""
    from tabulate import tabulate

    if not rows:
        return "model cache is empty"
    headers = ["key", "status", "backbone", "layers", "objective", "seed", "held-out helpful [95% CI]",
               "held-out harmless [95% CI]", "MB", "created"]
    table = [
        [
            row["key"][:12],
            row["status"],
            row["backbone"],
            row["num_layers"],
            row["objective"],
            row["seed"],
            _format_heldout(row["heldout_helpful"]),
            _format_heldout(row["heldout_harmless"]),
            round(row["size_bytes"] / 1e6, 1),
            row["created_at"],
        ]
        for row in rows
    ]
    return tabulate(table, headers=headers, missingval="-")


def disk_usage(cache_dir: str | os.PathLike | None = None) -> int:
    """Return the bytes used under the models folder of the cache."""
    models = resolve_cache_dir(cache_dir) / MODELS_DIR
    return _folder_size(models) if models.is_dir() else 0


__all__ = [
    "InvalidManifest",
    "clear_cache",
    "disk_usage",
    "format_cache_table",
    "get_or_train",
    "is_complete_model",
    "list_cache",
    "model_path",
    "read_manifest",
]
