"""Reward computation that reads the score at the last real token, whatever the padding side.

Hugging Face sequence-classification heads locate the last token as the rightmost one whose id
differs from ``pad_token_id`` and ignore the attention mask. That reads the wrong position when
pad == eos (GPT-2) and a sequence ends in eos, or when pad == end-of-turn (the GGUF SmolLM2
tokenizer). :func:`reward_forward` uses the attention mask instead. All rmbench scoring goes
through it.
"""

from __future__ import annotations

import torch
from transformers import PreTrainedModel


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Return, per row, the index of the last position where ``attention_mask == 1``.

    Raises ValueError for a row without any real token.
    """
    mask = attention_mask.to(torch.long)
    if bool((mask.sum(dim=-1) == 0).any()):
        raise ValueError("attention_mask has a row without any real token")
    positions = torch.arange(mask.shape[-1], device=mask.device)
    return (positions * mask).argmax(dim=-1)


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Return position ids that count real tokens only, so left padding does not shift positions."""
    mask = attention_mask.to(torch.long)
    return (mask.cumsum(dim=-1) - 1).clamp(min=0)


def reward_forward(model: PreTrainedModel, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Run the base model and the ``score`` head; return rewards ``[batch]`` read at the last real token.

    Works for left and right padding. Position ids are derived from the mask, so a sequence
    scored alone and inside a padded batch gets the same positions (this matters for absolute
    position embeddings such as GPT-2's). Gradients flow unless the caller disables them.
    """
    base = model.base_model
    if base is model:
        raise TypeError(f"{type(model).__name__} is not a model with a head; expected a *ForSequenceClassification")
    head = getattr(model, "score", None)
    if head is None:
        raise TypeError(f"{type(model).__name__} has no `score` head")

    outputs = base(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids_from_mask(attention_mask),
        use_cache=False,
    )
    hidden = outputs[0]
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    last_hidden = hidden[rows, last_token_index(attention_mask).to(hidden.device)]
    return head(last_hidden).squeeze(-1)
