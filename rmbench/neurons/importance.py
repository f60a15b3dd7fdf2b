"""Neuron importance scores [num_layers, d_mlp] and their on-disk cache.

Three scorings: magnitude (mean activation on the RM's own data), change-based (RMS over tokens
of the activation difference between the trained RM and its base backbone, after Chen et al.
2025) and a seeded uniform random baseline.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch

from rmbench.cache_dir import atomic_write
from rmbench.neurons.capture import (
    ActivationStats,
    LastActivationReached,
    activation_modules,
    autocast_context,
    backbone_forward,
    eval_mode,
    iter_batches,
    model_device,
    pair_texts,
)

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- scores


def magnitude_importance(stats: ActivationStats) -> np.ndarray:
    """Return the magnitude importance [num_layers, d_mlp] float64 of captured activations.

    For pairs it is the mean of the chosen token-mean and the rejected token-mean; see
    `ActivationStats.mean_activations`.
    """
    return np.asarray(stats.mean_activations, dtype=np.float64)


def random_importance(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Return uniform scores in [0, 1) from ``numpy.random.default_rng(seed)``."""
    return np.random.default_rng(seed).random(shape)


class _ChangeHooks:
    """Hooks that keep the base model's activations of one batch and compare the trained model's."""

    def __init__(self, base_modules, trained_modules, d_mlp: int):
        num_layers = len(base_modules)
        self.token_index: torch.Tensor | None = None  # [batch, pos] bool, True on real tokens
        self.base_acts: list[torch.Tensor | None] = [None] * num_layers
        self.squared_sums = torch.zeros(num_layers, d_mlp, dtype=torch.float64)
        self.compared = [False] * num_layers
        self._handles = [
            module.register_forward_hook(self._store_hook(layer))
            for layer, module in enumerate(base_modules)
        ] + [
            module.register_forward_hook(self._compare_hook(layer))
            for layer, module in enumerate(trained_modules)
        ]

    def _store_hook(self, layer: int):
        def hook(module, inputs, output):
            # output: [batch, pos, d_mlp]; keep the real tokens only: [tokens, d_mlp] float32
            self.base_acts[layer] = output[self.token_index].float()
            if layer == len(self.base_acts) - 1:
                raise LastActivationReached

        return hook

    def _compare_hook(self, layer: int):
        def hook(module, inputs, output):
            # output: [batch, pos, d_mlp] -> real tokens [tokens, d_mlp]
            base = self.base_acts[layer]
            if base is None:
                raise RuntimeError(f"the base model's layer {layer} produced no activations")
            trained = output[self.token_index].float().to(base.device)
            diff = (trained - base).double()
            self.squared_sums[layer] += diff.pow(2).sum(dim=0).cpu()
            self.base_acts[layer] = None
            self.compared[layer] = True
            if layer == len(self.base_acts) - 1:
                raise LastActivationReached

        return hook

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def change_importance(
    trained_model,
    base_model,
    tokenizer,
    texts: Iterable,
    *,
    max_length: int,
    batch_size: int = 16,
    progress: bool = True,
    bf16: bool = False,
) -> np.ndarray:
    """Return the change-based importance [num_layers, d_mlp] float64 of a trained model.

    Score of neuron j in layer l: ``sqrt(mean over tokens of (a_j^l(trained) - a_j^l(base))^2)``,
    where the mean runs over every non-padding token of every input, token-weighted. `texts`
    holds plain strings or preference pairs (both the chosen and the rejected input count).
    Both models see the same batches and must share the tokenizer and the MLP shape. The same
    model object passed twice gets zeros without a forward pass. Each batch
    keeps the base model's activations on real tokens of every layer until the trained model
    has run, so memory grows with ``num_layers * tokens per batch * d_mlp``, not with the data.
    """
    base_modules = activation_modules(base_model)
    trained_modules = activation_modules(trained_model)
    from rmbench.models.adapters import get_adapter

    d_mlp = get_adapter(trained_model).d_mlp
    base_d_mlp = get_adapter(base_model).d_mlp
    if len(base_modules) != len(trained_modules) or base_d_mlp != d_mlp:
        raise ValueError(
            f"trained model has {len(trained_modules)} layers x {d_mlp} neurons but the base "
            f"model has {len(base_modules)} x {base_d_mlp}; compare a model with its own backbone"
        )

    if trained_model is base_model:
        # One module would carry both hooks and the early stop would skip its comparison.
        return np.zeros((len(trained_modules), d_mlp))

    items = list(texts)
    if items and not isinstance(items[0], str):
        items = [text for pair in items for text in pair_texts(pair)]

    trained_device = model_device(trained_model)
    base_device = model_device(base_model)
    hooks = _ChangeHooks(base_modules, trained_modules, d_mlp)
    n_tokens = 0
    from tqdm.auto import tqdm

    bar = tqdm(total=len(items), disable=not progress, unit="seq", desc="change", leave=False)
    try:
        with (
            eval_mode(trained_model),
            eval_mode(base_model),
            torch.inference_mode(),
            autocast_context(trained_device, bf16),
        ):
            for batch in iter_batches(
                tokenizer, items, max_length=max_length, batch_size=batch_size
            ):
                mask = batch.attention_mask
                hooks.token_index = mask.bool().to(base_device)
                backbone_forward(base_model, batch.input_ids.to(base_device), mask.to(base_device))
                hooks.token_index = mask.bool().to(trained_device)
                hooks.compared = [False] * len(trained_modules)
                backbone_forward(
                    trained_model, batch.input_ids.to(trained_device), mask.to(trained_device)
                )
                if not all(hooks.compared):
                    raise RuntimeError("an activation module of the trained model did not run")
                n_tokens += int(mask.sum())
                bar.update(len(batch.groups))
    finally:
        hooks.remove()
        bar.close()

    if n_tokens == 0:
        raise ValueError("no inputs to compute change importance from")
    return np.sqrt(hooks.squared_sums.numpy() / n_tokens)


# --------------------------------------------------------------------------- cache


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """Return the rmbench cache root: `cache_dir`, else $RMBENCH_CACHE, else ~/.cache/rmbench."""
    from rmbench.cache_dir import resolve_cache_dir

    return resolve_cache_dir(cache_dir)


_METHOD_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _entry_path(kind: str, model_key: str, data_key: str, method: str, cache_dir) -> tuple[Path, dict]:
    if not _METHOD_NAME.match(method):
        raise ValueError(f"invalid method name {method!r}: use letters, digits, '_', '.' or '-'")
    meta = {"model_key": model_key, "data_key": data_key, "method": method, "kind": kind}
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True).encode("utf-8")).hexdigest()[:24]
    return cache_root(cache_dir) / "importance" / f"{kind}-{method}-{digest}.npz", meta


def _read_scores(path: Path, meta: dict) -> np.ndarray | None:
    """Return the cached scores, or None when the file is missing, unreadable or for other keys."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = json.loads(str(data["meta"]))
            scores = data["scores"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        logger.warning("ignoring unreadable importance cache %s: %s", path, error)
        return None
    if stored != meta:
        logger.warning("ignoring importance cache %s: stored keys %s differ from %s", path, stored, meta)
        return None
    return scores


def cached_importance(
    model_key: str,
    data_key: str,
    method: str,
    compute_fn: Callable[[], np.ndarray],
    cache_dir: str | Path | None = None,
) -> np.ndarray:
    """Return importance scores from ``<cache>/importance/``, computing and storing them once.

    The entry is keyed by (model key, data fingerprint, method). A file lock makes concurrent
    callers (pytest-xdist workers) compute an entry once, and the file appears by atomic rename,
    so an interrupted write never leaves a half-written entry. Unreadable entries are recomputed.
    """
    from filelock import FileLock

    path, meta = _entry_path("scores", model_key, data_key, method, cache_dir)
    scores = _read_scores(path, meta)
    if scores is not None:
        return scores

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        scores = _read_scores(path, meta)
        if scores is not None:
            return scores
        scores = np.asarray(compute_fn())

        def write(temporary: Path) -> None:
            with open(temporary, "wb") as handle:
                np.savez(handle, scores=scores, meta=np.array(json.dumps(meta)))

        atomic_write(path, write)
        logger.info("cached %s importance %s for model %s", method, scores.shape, model_key)
    return scores


def cached_activation_stats(
    model_key: str,
    data_key: str,
    compute_fn: Callable[[], ActivationStats],
    cache_dir: str | Path | None = None,
) -> ActivationStats:
    """Return captured `ActivationStats` from ``<cache>/importance/``, capturing them once.

    Same locking and atomic writes as `cached_importance`. Use it where both the magnitude
    importance and the RMSD of one capture are needed.
    """
    from filelock import FileLock

    path, meta = _entry_path("stats", model_key, data_key, "capture", cache_dir)
    meta_path = path.with_suffix(".json")

    def read() -> ActivationStats | None:
        if not (path.is_file() and meta_path.is_file()):
            return None
        try:
            if json.loads(meta_path.read_text()) != meta:
                return None
            return ActivationStats.load(path)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            logger.warning("ignoring unreadable activation cache %s: %s", path, error)
            return None

    stats = read()
    if stats is not None:
        return stats
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        stats = read()
        if stats is not None:
            return stats
        stats = compute_fn()
        # The .npz goes first, so a present .json always points at a complete .npz.
        atomic_write(path, stats.save)
        atomic_write(meta_path, lambda temporary: temporary.write_text(json.dumps(meta)))
    return stats
