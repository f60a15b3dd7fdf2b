"""Batched reward scoring with dynamic padding.

Texts are tokenized once, sorted by token length (longest first) and cut into batches that are
padded only to the longest sequence of each batch, so short texts do not pay for long ones.
Rewards come back in input order as float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from rmbench.models.reward import reward_forward

# Models with at least this many parameters run under bf16 autocast by default. On CPU, bf16
# autocast speeds up TRL training from about 50M parameters up. For SmolLM2-135M cut to 4 layers
# (42.5M parameters) it made scoring 2.6x slower (benchmarks/scoring_speed.py, 2 CPU threads).
AUTOCAST_MIN_PARAMS = 50_000_000


@dataclass(frozen=True)
class Batch:
    """One forward pass: positions into the input list, padded to ``width`` tokens."""

    indices: tuple[int, ...]
    width: int


def tokenize_left_truncated(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Tokenize ``texts`` without padding, keeping the last ``max_length`` tokens of each.

    Cutting from the left keeps the end of the text, which is the response being scored.
    Special tokens are added as the tokenizer does by default.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be a positive number of tokens, got {max_length}")
    saved_side = tokenizer.truncation_side
    tokenizer.truncation_side = "left"
    try:
        encoded = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    finally:
        tokenizer.truncation_side = saved_side
    return [list(ids) for ids in encoded["input_ids"]]


def plan_batches(
    lengths: Sequence[int], *, batch_size: int, max_tokens_per_batch: int | None = None
) -> list[Batch]:
    """Group sequence indices into batches, longest sequences first.

    A batch contains at most ``batch_size`` sequences and, when ``max_tokens_per_batch`` is set, at
    most that many tokens after padding (batch rows x longest row). A single sequence longer than
    the token budget still gets a batch of its own.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if max_tokens_per_batch is not None and max_tokens_per_batch < 1:
        raise ValueError(f"max_tokens_per_batch must be >= 1 or None, got {max_tokens_per_batch}")

    # A stable sort keeps equal-length texts in input order, so the plan is deterministic.
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[Batch] = []
    current: list[int] = []
    width = 0
    for index in order:
        if current:
            rows_after = len(current) + 1
            # Sorting longest first means the first row of a batch fixes its padded width.
            over_budget = max_tokens_per_batch is not None and rows_after * width > max_tokens_per_batch
            if rows_after > batch_size or over_budget:
                batches.append(Batch(tuple(current), width))
                current = []
        if not current:
            width = lengths[index]
        current.append(index)
    if current:
        batches.append(Batch(tuple(current), width))
    return batches


def pad_batch(
    sequences: Sequence[Sequence[int]], *, width: int, pad_token_id: int, padding_side: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad token id lists to ``width`` and return ``(input_ids, attention_mask)`` as int64."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    input_ids = torch.full((len(sequences), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, ids in enumerate(sequences):
        n = len(ids)
        if n > width:
            raise ValueError(f"sequence {row} has {n} tokens, more than the batch width {width}")
        start = 0 if padding_side == "right" else width - n
        input_ids[row, start : start + n] = torch.as_tensor(ids, dtype=torch.long)
        attention_mask[row, start : start + n] = 1
    return input_ids, attention_mask


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def default_autocast(model: torch.nn.Module) -> bool:
    """Return True when bf16 autocast should be on by default: models of >= 50M parameters."""
    return count_parameters(model) >= AUTOCAST_MIN_PARAMS


def score_texts(
    model,
    tokenizer,
    texts: Sequence[str],
    *,
    max_length: int,
    batch_size: int = 16,
    max_tokens_per_batch: int | None = None,
    padding_side: str | None = None,
    autocast: bool | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Score each text with a reward model and return float64 rewards ``[len(texts)]`` in input order.

    Each text keeps its last ``max_length`` tokens. ``padding_side`` defaults to the tokenizer's.
    ``autocast`` turns bf16 autocast on or off; None picks it by model size (on from 50M
    parameters). The model runs in eval mode under ``torch.inference_mode`` and its training flag
    is restored afterwards. Raises ValueError when the tokenizer has no pad token or a text
    tokenizes to nothing.
    """
    n_texts = len(texts)
    if n_texts == 0:
        return np.zeros(0, dtype=np.float64)
    pad_token_id = tokenizer.pad_token_id
    if pad_token_id is None:
        raise ValueError("tokenizer has no pad token; set tokenizer.pad_token before scoring")
    side = padding_side or tokenizer.padding_side

    token_ids = tokenize_left_truncated(tokenizer, texts, max_length)
    lengths = [len(ids) for ids in token_ids]
    empty = [i for i, n in enumerate(lengths) if n == 0]
    if empty:
        raise ValueError(f"{len(empty)} texts tokenize to zero tokens (first at index {empty[0]})")
    batches = plan_batches(lengths, batch_size=batch_size, max_tokens_per_batch=max_tokens_per_batch)

    device = next(model.parameters()).device
    use_autocast = default_autocast(model) if autocast is None else autocast
    rewards = np.empty(n_texts, dtype=np.float64)

    was_training = model.training
    model.eval()
    try:
        with (
            torch.inference_mode(),
            torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_autocast),
            tqdm(total=n_texts, unit="text", desc="scoring", disable=not progress) as bar,
        ):
            for batch in batches:
                rows = [token_ids[i] for i in batch.indices]
                input_ids, attention_mask = pad_batch(
                    rows, width=batch.width, pad_token_id=pad_token_id, padding_side=side
                )
                batch_rewards = reward_forward(model, input_ids.to(device), attention_mask.to(device))
                rewards[list(batch.indices)] = batch_rewards.float().cpu().numpy()
                bar.update(len(batch.indices))
    finally:
        model.train(was_training)
    return rewards
