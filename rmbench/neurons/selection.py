"""Top-tau neuron selection, set arithmetic between objectives, and layer buckets.

Masks are boolean arrays [num_layers, d_mlp]; True marks a selected neuron.
"""

from __future__ import annotations

import math

import numpy as np


def selection_size(n_total: int, tau_percent: float) -> int:
    """Return the number of neurons that top-tau selects: tau% of `n_total`, rounded half up.

    Half up means 2.5 -> 3, unlike Python's round(), which rounds halves to even (2.5 -> 2).
    """
    if not 0 <= tau_percent <= 100:
        raise ValueError(f"tau_percent must be in [0, 100], got {tau_percent}")
    # tau * N / 100 rounds once, so an exact half stays exact; tau / 100 * N rounds twice.
    return min(n_total, math.floor(tau_percent * n_total / 100 + 0.5))


def select_top(scores: np.ndarray, tau_percent: float) -> np.ndarray:
    """Return a mask of the top tau percent of all neurons, ranked globally across layers.

    Exactly ``selection_size(scores.size, tau_percent)`` neurons are selected, whatever the ties:
    among equal scores the neuron with the lower flat index (layer-major) wins.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be [num_layers, d_mlp], got shape {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"scores contain {int(np.sum(~np.isfinite(scores)))} NaN or infinite values")

    count = selection_size(scores.size, tau_percent)
    # A stable sort on the negated scores keeps equal scores in flat-index order.
    order = np.argsort(-scores.ravel(), kind="stable")
    mask = np.zeros(scores.size, dtype=bool)
    mask[order[:count]] = True
    return mask.reshape(scores.shape)


def _check_same_shape(**masks: np.ndarray) -> None:
    shapes = {name: np.shape(mask) for name, mask in masks.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"masks differ in shape: {shapes}")


def partition(n_h: np.ndarray, n_s: np.ndarray) -> dict[str, np.ndarray]:
    """Split the helpful set N_H and the harmless set N_S into shared, helpful-only and harmless-only."""
    _check_same_shape(n_h=n_h, n_s=n_s)
    n_h = np.asarray(n_h, dtype=bool)
    n_s = np.asarray(n_s, dtype=bool)
    return {
        "shared": n_h & n_s,
        "helpful_only": n_h & ~n_s,
        "harmless_only": n_s & ~n_h,
    }


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")


def overlap_shares(n_h: np.ndarray, n_s: np.ndarray) -> dict[str, float]:
    """Return how much of N_H and N_S is shared: |shared|/|N_H|, |shared|/|N_S|, |shared|/N.

    N counts every neuron of the model. A share with an empty denominator is NaN.
    """
    parts = partition(n_h, n_s)
    shared = int(parts["shared"].sum())
    helpful = int(np.sum(n_h))
    harmless = int(np.sum(n_s))
    total = int(np.size(n_h))
    return {
        "shared_of_helpful": _ratio(shared, helpful),
        "shared_of_harmless": _ratio(shared, harmless),
        "shared_of_all": _ratio(shared, total),
        "n_shared": shared,
        "n_helpful": helpful,
        "n_harmless": harmless,
        "n_total": total,
    }


def neuron_retention(n_hs: np.ndarray, n_h: np.ndarray, n_s: np.ndarray) -> float:
    """Return |N_HS ∩ (N_H ∪ N_S)| / |N_H ∪ N_S| (NaN when N_H ∪ N_S is empty)."""
    _check_same_shape(n_hs=n_hs, n_h=n_h, n_s=n_s)
    union = np.asarray(n_h, dtype=bool) | np.asarray(n_s, dtype=bool)
    kept = np.asarray(n_hs, dtype=bool) & union
    return _ratio(int(kept.sum()), int(union.sum()))


BUCKETS = ("early", "middle", "late")


def layer_buckets(num_layers: int) -> list[range]:
    """Split layers 0..num_layers-1 into early, middle and late consecutive buckets.

    Bucket sizes differ by at most one. A remainder goes to the earliest buckets (as
    ``numpy.array_split`` does): 4 layers -> [0, 1], [2], [3]; 5 -> [0, 1], [2, 3], [4]. The late
    bucket is never the larger one, so an uneven split cannot favour a late-layer concentration.
    """
    if num_layers < len(BUCKETS):
        raise ValueError(f"need at least 3 layers for early/middle/late buckets, got {num_layers}")
    base, remainder = divmod(num_layers, len(BUCKETS))
    buckets = []
    start = 0
    for index in range(len(BUCKETS)):
        size = base + (1 if index < remainder else 0)
        buckets.append(range(start, start + size))
        start += size
    return buckets


def layer_shares(mask: np.ndarray) -> dict[str, float]:
    """Return the share of a set's neurons in the early, middle and late layer buckets.

    The shares sum to 1; each is NaN when the set is empty. Compare with `bucket_fractions`, the
    shares a set spread evenly over the layers would have.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be [num_layers, d_mlp], got shape {mask.shape}")
    per_layer = mask.sum(axis=1)
    total = int(per_layer.sum())
    return {
        name: _ratio(int(per_layer[list(bucket)].sum()), total)
        for name, bucket in zip(BUCKETS, layer_buckets(mask.shape[0]))
    }


def bucket_fractions(num_layers: int) -> dict[str, float]:
    """Return each bucket's fraction of the layers, the layer shares of a uniformly spread set."""
    return {name: len(bucket) / num_layers for name, bucket in zip(BUCKETS, layer_buckets(num_layers))}


def size_matched_random(
    mask: np.ndarray,
    seed: int,
    exclude: np.ndarray | None = None,
    *,
    match_layers: bool = False,
) -> np.ndarray:
    """Return a random mask with as many neurons as `mask`, drawn uniformly outside `exclude`.

    With `match_layers`, every layer gets as many random neurons as `mask` has in that layer, a
    control that keeps the layer distribution. Raises ValueError when too few neurons remain
    outside `exclude`.
    """
    mask = np.asarray(mask, dtype=bool)
    allowed = np.ones_like(mask) if exclude is None else ~np.asarray(exclude, dtype=bool)
    _check_same_shape(mask=mask, allowed=allowed)
    rng = np.random.default_rng(seed)
    result = np.zeros_like(mask)

    if match_layers:
        for layer in range(mask.shape[0]):
            result[layer] = _draw(rng, allowed[layer], int(mask[layer].sum()), f"layer {layer}")
        return result
    return _draw(rng, allowed.ravel(), int(mask.sum()), "the model").reshape(mask.shape)


def _draw(rng: np.random.Generator, allowed: np.ndarray, count: int, where: str) -> np.ndarray:
    candidates = np.flatnonzero(allowed)
    if count > candidates.size:
        raise ValueError(
            f"cannot draw {count} random neurons in {where}: only {candidates.size} are outside the excluded set"
        )
    picked = np.zeros(allowed.size, dtype=bool)
    picked[rng.choice(candidates, size=count, replace=False)] = True
    return picked
