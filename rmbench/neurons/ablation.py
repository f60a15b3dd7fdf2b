"""Zero-ablation of selected MLP neurons through removable forward hooks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import numpy as np
import torch

from rmbench.neurons.capture import activation_modules, model_device

NeuronMask = np.ndarray | Mapping[int, object]


def _layer_indices(mask: NeuronMask, num_layers: int | None, d_mlp: int | None) -> dict[int, np.ndarray]:
    """Return {layer: sorted unique neuron indices} for the non-empty layers of a mask.

    A bool array must be [num_layers, d_mlp]; a dict maps layer -> iterable of neuron indices.
    Bounds are checked when num_layers and d_mlp are given.
    """
    if isinstance(mask, Mapping):
        indices = {}
        for layer, neurons in mask.items():
            layer = int(layer)
            neurons = np.unique(np.asarray(list(neurons), dtype=np.int64))
            if num_layers is not None and not 0 <= layer < num_layers:
                raise ValueError(f"mask names layer {layer}, but the model has {num_layers} layers")
            if neurons.size and d_mlp is not None and (neurons[0] < 0 or neurons[-1] >= d_mlp):
                raise ValueError(
                    f"mask names neurons {neurons[0]}..{neurons[-1]} in layer {layer}, "
                    f"but layers have {d_mlp} neurons"
                )
            if neurons.size:
                indices[layer] = neurons
        return indices

    array = np.asarray(mask)
    if array.dtype != bool:
        raise TypeError(f"mask must be a bool array or a layer -> indices dict, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"mask must be [num_layers, d_mlp], got shape {array.shape}")
    if num_layers is not None and array.shape != (num_layers, d_mlp):
        raise ValueError(f"mask has shape {array.shape}, but the model has {num_layers} x {d_mlp} neurons")
    return {layer: np.flatnonzero(row) for layer, row in enumerate(array) if row.any()}


def _zeroing_hook(indices: torch.Tensor):
    def hook(module, inputs, output):
        # output: [batch, pos, d_mlp]; a new tensor, so autograd and the caller's tensors are untouched
        return output.index_fill(-1, indices.to(output.device), 0.0)

    return hook


@contextmanager
def ablate(model, mask: NeuronMask, *, adapter=None) -> Iterator[None]:
    """Zero the selected neurons' activations in every forward pass inside the block.

    `mask` is a bool array [num_layers, d_mlp] or a dict {layer: neuron indices}. Zeroing the
    activation removes the neuron's whole contribution to the MLP output (for gated MLPs it
    multiplies the up projection). An empty mask registers no hook. The hooks are removed when
    the block exits, also through an exception, so outputs afterwards equal outputs before.
    """
    if adapter is None:
        from rmbench.models.adapters import get_adapter

        adapter = get_adapter(model)
    modules = activation_modules(model, adapter)
    indices = _layer_indices(mask, len(modules), adapter.d_mlp)
    device = model_device(model)

    handles = []
    try:
        for layer, neurons in indices.items():
            index_tensor = torch.as_tensor(neurons, dtype=torch.long, device=device)
            handles.append(modules[layer].register_forward_hook(_zeroing_hook(index_tensor)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def ablation_key(mask: NeuronMask) -> str:
    """Return a short key for a neuron set, for caching scores under an ablation.

    The key depends only on the set of (layer, neuron) pairs, so a bool mask and a dict naming
    the same neurons get the same key. An empty set gets "none", the key of unablated scores.
    """
    indices = _layer_indices(mask, None, None)
    if not indices:
        return "none"
    pairs = np.concatenate(
        [np.stack([np.full(n.size, layer, dtype=np.int64), n]) for layer, n in sorted(indices.items())],
        axis=1,
    )  # [2, n_selected]: layer row, neuron row, sorted by layer then neuron
    digest = hashlib.sha256(np.ascontiguousarray(pairs.T).astype("<i8").tobytes()).hexdigest()
    return f"abl-{pairs.shape[1]}-{digest[:16]}"
