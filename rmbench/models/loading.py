"""Loading of trained reward models from a local folder or the Hugging Face hub."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from rmbench.models.backbones import configure_pad_token


def load_reward_model(path_or_hub_id: str | os.PathLike, *, dtype: torch.dtype = torch.float32):
    """Load a sequence-classification reward model and its tokenizer; return ``(model, tokenizer)``.

    ``path_or_hub_id`` is a folder written by ``save_pretrained`` (such as a cache entry of
    ``rmbench.training.get_or_train``) or a hub id. The pad-token rules of
    :func:`rmbench.models.backbones.configure_pad_token` are applied. The model is in eval mode.
    """
    source = str(path_or_hub_id)
    local = Path(source).expanduser()
    if local.exists():
        if not (local / "config.json").is_file():
            raise FileNotFoundError(f"{local} is not a saved model folder: config.json is missing")
        source = str(local)
    model = AutoModelForSequenceClassification.from_pretrained(source, dtype=dtype)
    if model.config.num_labels != 1:
        raise ValueError(f"{source} has num_labels={model.config.num_labels}; a reward model needs num_labels=1")
    tokenizer = AutoTokenizer.from_pretrained(source)
    configure_pad_token(tokenizer, model)
    model.eval()
    return model, tokenizer
