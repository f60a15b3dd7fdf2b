"""Backbones, reward heads and per-architecture access to MLP neurons."""

from rmbench.models.adapters import ARCH_LAYOUTS, ArchAdapter, UnsupportedArchitecture, get_adapter
from rmbench.models.backbones import (
    BACKBONES,
    BackboneSpec,
    UnknownBackbone,
    backbone_fingerprint,
    configure_pad_token,
    get_converted_gguf_backbone,
    get_converted_gguf_tokenizer,
    load_backbone,
)
from rmbench.models.loading import load_reward_model
from rmbench.models.reward import reward_forward

__all__ = [
    "ARCH_LAYOUTS",
    "ArchAdapter",
    "BACKBONES",
    "BackboneSpec",
    "UnknownBackbone",
    "UnsupportedArchitecture",
    "backbone_fingerprint",
    "configure_pad_token",
    "get_adapter",
    "get_converted_gguf_backbone",
    "get_converted_gguf_tokenizer",
    "load_backbone",
    "load_reward_model",
    "reward_forward",
]
