"""Neurons: activation capture, importance scores, top-tau selection, ablation and tau sweeps.

Names are imported from their submodules on first use, so that importing the selection helpers
does not load torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ActivationStats": "capture",
    "capture_mean_activations": "capture",
    "iter_batches": "capture",
    "magnitude_importance": "importance",
    "change_importance": "importance",
    "random_importance": "importance",
    "cached_importance": "importance",
    "cached_activation_stats": "importance",
    "select_top": "selection",
    "selection_size": "selection",
    "partition": "selection",
    "overlap_shares": "selection",
    "neuron_retention": "selection",
    "layer_buckets": "selection",
    "layer_shares": "selection",
    "bucket_fractions": "selection",
    "size_matched_random": "selection",
    "ablate": "ablation",
    "ablation_key": "ablation",
    "tau_sweep": "sweep",
    "write_sweep_table": "sweep",
    "plot_sweep": "sweep",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
    return getattr(module, name)
