"""Per-architecture access to transformer layers and their MLP activation modules.

A "neuron" is one output unit of the MLP activation module of a layer:

- GPT-2: ``transformer.h[i].mlp.act``, the GELU output of ``c_fc``; ``d_mlp = n_inner or 4 * n_embd``.
- Llama family (Llama, SmolLM2, Mistral, Qwen2, Qwen3, OLMo2): ``model.layers[i].mlp.act_fn``,
  whose output is ``act_fn(gate_proj(h))``, taken before the product with ``up_proj(h)``;
  ``d_mlp = intermediate_size``.
- GPT-NeoX: ``gpt_neox.layers[i].mlp.act``, the activation of ``dense_h_to_4h``;
  ``d_mlp = intermediate_size``.

Forward hooks on ``activation_modules[i]`` therefore see a tensor ``[batch, seq, d_mlp]``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import nn


@dataclass
class ArchAdapter:
    """The transformer layers of a model and one activation module per layer."""

    layers: list[nn.Module]
    activation_modules: list[nn.Module]
    d_mlp: int
    num_layers: int
    model_type: str


@dataclass(frozen=True)
class _ArchLayout:
    layers_attr: str  # attribute of the base model that contains the layer list
    mlp_attr: str
    activation_attr: str


_GPT2 = _ArchLayout("h", "mlp", "act")
_LLAMA = _ArchLayout("layers", "mlp", "act_fn")
_GPT_NEOX = _ArchLayout("layers", "mlp", "act")

ARCH_LAYOUTS: dict[str, _ArchLayout] = {
    "gpt2": _GPT2,
    "llama": _LLAMA,
    "mistral": _LLAMA,
    "qwen2": _LLAMA,
    "qwen3": _LLAMA,
    "olmo2": _LLAMA,
    "gpt_neox": _GPT_NEOX,
}


class UnsupportedArchitecture(ValueError):
    """Raised by :func:`get_adapter` for a model type without a layout."""


def _d_mlp(config) -> int:
    if config.model_type == "gpt2":
        return config.n_inner if config.n_inner is not None else 4 * config.n_embd
    return config.intermediate_size


def get_adapter(model: nn.Module) -> ArchAdapter:
    """Return the layers and per-layer activation modules of ``model``.

    ``model`` may be the bare base model or one with a head (causal LM, sequence classification).
    If several layers share one activation module instance, each layer gets its own deep copy, so
    that a hook on ``activation_modules[i]`` fires for layer ``i`` only. That edits ``model``
    in place, and the copies hold no parameters in any supported layout.
    """
    config = model.config
    model_type = config.model_type
    layout = ARCH_LAYOUTS.get(model_type)
    if layout is None:
        supported = ", ".join(sorted(ARCH_LAYOUTS))
        raise UnsupportedArchitecture(f"No neuron adapter for model type {model_type!r}; supported types: {supported}")

    base = getattr(model, model.base_model_prefix, model)
    layers = list(getattr(base, layout.layers_attr))
    activation_modules: list[nn.Module] = []
    seen: set[int] = set()
    for layer in layers:
        mlp = getattr(layer, layout.mlp_attr)
        activation = getattr(mlp, layout.activation_attr)
        if id(activation) in seen:
            activation = copy.deepcopy(activation)
            setattr(mlp, layout.activation_attr, activation)
        seen.add(id(activation))
        activation_modules.append(activation)

    return ArchAdapter(
        layers=layers,
        activation_modules=activation_modules,
        d_mlp=_d_mlp(config),
        num_layers=len(layers),
        model_type=model_type,
    )
