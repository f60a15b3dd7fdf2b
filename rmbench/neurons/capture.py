"""Mean MLP activations per neuron, captured with forward hooks in a single streaming pass.

A neuron is one output unit of an MLP activation module (GPT-2 ``mlp.act``, Llama-family
``mlp.act_fn``, GPT-NeoX ``mlp.act``; `rmbench.models.adapters.get_adapter` finds them). Each
forward pass contains the chosen and the rejected inputs of its pairs together, padded on the right
to the longest sequence of the batch, so padding costs little and both texts of a pair are
compared within one pass. The hooks reduce each activation tensor to per-sequence sums over
non-padding tokens at once, so memory depends on the batch, never on the number of inputs.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

logger = logging.getLogger(__name__)

# Inputs are tokenised and length-sorted in chunks of this many items, so that a large data set
# never has all its token ids in memory at once.
DEFAULT_CHUNK_SIZE = 1024


# --------------------------------------------------------------------------- batching


@dataclass
class Batch:
    """One forward pass of right-padded sequences and the bookkeeping to regroup its rows."""

    input_ids: torch.Tensor  # [batch, pos] int64, right-padded
    attention_mask: torch.Tensor  # [batch, pos] int64, 1 on real tokens
    groups: list[str]  # per row: "chosen", "rejected" or "text"
    # (chosen row, rejected row) of each pair in the batch. Empty for plain texts.
    pair_rows: list[tuple[int, int]] = field(default_factory=list)
    # Per pair: True when the chosen and rejected token ids are identical after truncation.
    identical: list[bool] = field(default_factory=list)
    n_truncated: int = 0  # sequences of this batch that lost tokens to left truncation

    @property
    def n_tokens(self) -> int:
        return int(self.attention_mask.sum())


def _is_pair(item) -> bool:
    return all(hasattr(item, name) for name in ("prompt", "chosen", "rejected"))


def pair_texts(pair) -> tuple[str, str]:
    """Return the full chosen and rejected input texts of a preference pair."""
    from rmbench.data import format_text

    return format_text(pair.prompt, pair.chosen), format_text(pair.prompt, pair.rejected)


def _tokenize(tokenizer, texts: list[str], max_length: int) -> tuple[list[list[int]], list[bool]]:
    """Tokenise texts, keeping the last `max_length` tokens of each; return ids and truncation flags."""
    encoded = tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
    truncated = [len(ids) > max_length for ids in encoded]
    too_long = [i for i, flag in enumerate(truncated) if flag]
    if too_long:
        # Re-tokenise only the long texts, so that special tokens (a BOS, where the tokenizer adds
        # one) survive the truncation where the tokenizer itself places them.
        previous_side = tokenizer.truncation_side
        tokenizer.truncation_side = "left"
        try:
            shortened = tokenizer(
                [texts[i] for i in too_long],
                add_special_tokens=True,
                truncation=True,
                max_length=max_length,
            )["input_ids"]
        finally:
            tokenizer.truncation_side = previous_side
        for i, ids in zip(too_long, shortened):
            encoded[i] = ids
    return encoded, truncated


def _pad_right(sequences: Sequence[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(ids) for ids in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, ids in enumerate(sequences):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, : len(ids)] = 1
    return input_ids, attention_mask


def _pad_id(tokenizer) -> int:
    # The id never reaches a real token's activations (right padding, causal attention), so any
    # valid id works when the tokenizer has no pad token.
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def iter_batches(
    tokenizer,
    pairs_or_texts: Iterable,
    *,
    max_length: int,
    batch_size: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[Batch]:
    """Yield right-padded, length-sorted batches of preference pairs or plain texts.

    `batch_size` counts sequences per forward pass. A pair contributes two sequences (chosen and
    rejected, in the same batch), so a batch contains ``max(1, batch_size // 2)`` pairs. Texts longer
    than `max_length` tokens keep their last `max_length` tokens (left truncation), because the
    two responses of an HH-RLHF pair differ only at the end. Items are sorted by length, longest
    first, within chunks of `chunk_size` items.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")

    pad_id = _pad_id(tokenizer)
    iterator = iter(pairs_or_texts)
    mode = None
    while True:
        chunk = list(itertools.islice(iterator, chunk_size))
        if not chunk:
            return
        chunk_mode = _input_mode(chunk)
        if mode is not None and chunk_mode != mode:
            raise ValueError("inputs mix preference pairs and plain texts; pass one kind only")
        mode = chunk_mode
        if mode == "pairs":
            yield from _pair_batches(tokenizer, chunk, max_length, batch_size, pad_id)
        else:
            yield from _text_batches(tokenizer, chunk, max_length, batch_size, pad_id)


def _input_mode(items: list) -> str:
    if all(isinstance(item, str) for item in items):
        return "texts"
    if all(_is_pair(item) for item in items):
        return "pairs"
    kinds = sorted({"str" if isinstance(item, str) else type(item).__name__ for item in items})
    raise TypeError(
        "expected either strings or preference pairs with prompt/chosen/rejected attributes, "
        f"not a mix; got {', '.join(kinds)}"
    )


def _pair_batches(tokenizer, pairs, max_length, batch_size, pad_id) -> Iterator[Batch]:
    texts = [text for pair in pairs for text in pair_texts(pair)]
    encoded, truncated = _tokenize(tokenizer, texts, max_length)
    chosen, rejected = encoded[0::2], encoded[1::2]
    order = sorted(range(len(pairs)), key=lambda i: (-max(len(chosen[i]), len(rejected[i])), i))
    pairs_per_batch = max(1, batch_size // 2)
    for start in range(0, len(order), pairs_per_batch):
        picked = order[start : start + pairs_per_batch]
        k = len(picked)
        # Rows 0..k-1 hold the chosen texts and rows k..2k-1 the rejected texts, in pair order.
        input_ids, attention_mask = _pad_right(
            [chosen[i] for i in picked] + [rejected[i] for i in picked], pad_id
        )
        yield Batch(
            input_ids=input_ids,
            attention_mask=attention_mask,
            groups=["chosen"] * k + ["rejected"] * k,
            pair_rows=[(row, k + row) for row in range(k)],
            identical=[chosen[i] == rejected[i] for i in picked],
            n_truncated=sum(truncated[2 * i] + truncated[2 * i + 1] for i in picked),
        )


def _text_batches(tokenizer, texts, max_length, batch_size, pad_id) -> Iterator[Batch]:
    encoded, truncated = _tokenize(tokenizer, texts, max_length)
    order = sorted(range(len(texts)), key=lambda i: (-len(encoded[i]), i))
    for start in range(0, len(order), batch_size):
        picked = order[start : start + batch_size]
        input_ids, attention_mask = _pad_right([encoded[i] for i in picked], pad_id)
        yield Batch(
            input_ids=input_ids,
            attention_mask=attention_mask,
            groups=["text"] * len(picked),
            n_truncated=sum(truncated[i] for i in picked),
        )


# --------------------------------------------------------------------------- statistics


@dataclass
class ActivationStats:
    """Running sums of MLP activations over the non-padding tokens of a set of inputs.

    Groups are "chosen" and "rejected" for preference pairs and "text" for plain texts. Every
    array is float64.
    """

    group_sums: dict[str, np.ndarray]  # group -> [num_layers, d_mlp], sum of a_j^l over tokens
    group_tokens: dict[str, int]  # group -> non-padding tokens summed
    group_sequences: dict[str, int]  # group -> sequences (inputs)
    rmsd_sums: np.ndarray  # [num_layers], sum over pairs of the per-pair RMSD of each layer
    n_rmsd_pairs: int  # pairs summed into rmsd_sums (pairs with identical inputs are left out)
    n_identical_pairs: int  # pairs whose chosen and rejected token ids were identical after truncation
    n_truncated: int  # sequences that lost tokens to left truncation
    max_length: int

    @property
    def num_layers(self) -> int:
        return self.rmsd_sums.shape[0]

    @property
    def d_mlp(self) -> int:
        return next(iter(self.group_sums.values())).shape[1]

    def group_mean(self, group: str) -> np.ndarray:
        """Return the token-weighted mean activation [num_layers, d_mlp] of one group."""
        if group not in self.group_sums:
            raise KeyError(f"no group '{group}'; groups: {sorted(self.group_sums)}")
        return self.group_sums[group] / self.group_tokens[group]

    @property
    def mean_activations(self) -> np.ndarray:
        """Magnitude importance s_j^l [num_layers, d_mlp]: the mean of the per-group token means.

        For pairs this is (mean over chosen tokens + mean over rejected tokens) / 2, so chosen
        and rejected inputs weigh the same even when one side has more tokens. For plain texts
        it is the mean over every non-padding token of every text.
        """
        return np.mean([self.group_mean(group) for group in sorted(self.group_sums)], axis=0)

    @property
    def token_weighted_mean(self) -> np.ndarray:
        """Return the mean over every non-padding token of every input, groups pooled."""
        total = sum(self.group_sums.values())
        return total / sum(self.group_tokens.values())

    @property
    def rmsd_per_layer(self) -> np.ndarray:
        """Mean over pairs of the chosen-vs-rejected RMSD of each layer [num_layers] (NaN without pairs)."""
        if self.n_rmsd_pairs == 0:
            return np.full(self.num_layers, np.nan)
        return self.rmsd_sums / self.n_rmsd_pairs

    @property
    def mean_rmsd(self) -> float:
        """Mean chosen-vs-rejected RMSD over pairs and layers (NaN without pairs)."""
        return float(np.mean(self.rmsd_per_layer))

    def save(self, path: str | Path) -> None:
        """Write the statistics to an .npz file (not atomic: callers that share files rename)."""
        groups = sorted(self.group_sums)
        meta = {
            "groups": groups,
            "group_tokens": self.group_tokens,
            "group_sequences": self.group_sequences,
            "n_rmsd_pairs": self.n_rmsd_pairs,
            "n_identical_pairs": self.n_identical_pairs,
            "n_truncated": self.n_truncated,
            "max_length": self.max_length,
        }
        arrays = {f"sum_{group}": self.group_sums[group] for group in groups}
        with open(path, "wb") as handle:
            np.savez(handle, meta=np.array(json.dumps(meta)), rmsd_sums=self.rmsd_sums, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> ActivationStats:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return cls(
                group_sums={group: data[f"sum_{group}"] for group in meta["groups"]},
                group_tokens={k: int(v) for k, v in meta["group_tokens"].items()},
                group_sequences={k: int(v) for k, v in meta["group_sequences"].items()},
                rmsd_sums=data["rmsd_sums"],
                n_rmsd_pairs=int(meta["n_rmsd_pairs"]),
                n_identical_pairs=int(meta["n_identical_pairs"]),
                n_truncated=int(meta["n_truncated"]),
                max_length=int(meta["max_length"]),
            )


# --------------------------------------------------------------------------- model helpers


def activation_modules(model, adapter=None) -> list[torch.nn.Module]:
    """Return the per-layer activation modules of a model, checking that no two layers share one."""
    if adapter is None:
        from rmbench.models.adapters import get_adapter

        adapter = get_adapter(model)
    modules = list(adapter.activation_modules)
    if len({id(module) for module in modules}) != len(modules):
        # A hook on a shared module would fire once per layer and mix the layers up.
        raise ValueError(
            f"{type(model).__name__} shares one activation module between layers; "
            "per-layer hooks need a separate module per layer"
        )
    return modules


def model_device(model) -> torch.device:
    return next(model.parameters()).device


class LastActivationReached(Exception):
    """Raised by a hook on the last layer's activation module to skip the rest of the forward pass."""


def backbone_forward(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> None:
    """Run the transformer body of a model (no reward or LM head, no KV cache) for its hooks.

    Position ids count real tokens only, as in reward scoring, so that padding never shifts them.
    A hook that raises `LastActivationReached` ends the pass early. Everything after the last
    activation module (for Llama-family MLPs also the last ``up_proj``, which runs after
    ``act_fn``) is then skipped.
    """
    from rmbench.models.reward import position_ids_from_mask

    body = getattr(model, "base_model", model)
    try:
        body(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids_from_mask(attention_mask),
            use_cache=False,
        )
    except LastActivationReached:
        pass


@contextlib.contextmanager
def eval_mode(model):
    """Switch off dropout for the duration of the block, then restore the previous mode."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def autocast_context(device: torch.device, bf16: bool):
    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _progress_bar(total: int | None, enabled: bool, description: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, unit="item", desc=description, leave=False)


class _SequenceSumHooks:
    """Forward hooks that reduce each layer's activations to per-sequence sums over real tokens."""

    def __init__(self, modules: list[torch.nn.Module]):
        self.token_weights: torch.Tensor | None = None  # [batch, pos] float32, 1 on real tokens
        self.sums: list[torch.Tensor | None] = [None] * len(modules)
        self._handles = [
            module.register_forward_hook(self._make_hook(layer)) for layer, module in enumerate(modules)
        ]

    def _make_hook(self, layer: int):
        def hook(module, inputs, output):
            # output: [batch, pos, d_mlp], in bf16 under autocast. The reduction runs in float32
            # with autocast off, because autocast would otherwise run the matmul in bf16.
            with torch.autocast(device_type=output.device.type, enabled=False):
                weights = self.token_weights.unsqueeze(1)  # [batch, 1, pos]
                sums = torch.bmm(weights, output.float()).squeeze(1)  # [batch, d_mlp]
            self.sums[layer] = sums.double()
            if layer == len(self.sums) - 1:
                raise LastActivationReached

        return hook

    def take(self) -> torch.Tensor:
        """Return the sums of the last forward pass [num_layers, batch, d_mlp] float64 and reset."""
        missing = [layer for layer, sums in enumerate(self.sums) if sums is None]
        if missing:
            raise RuntimeError(
                f"the activation modules of layers {missing} did not run in the forward pass; "
                "the architecture adapter points at modules the model does not call"
            )
        stacked = torch.stack(self.sums)
        self.sums = [None] * len(self.sums)
        return stacked

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def _count_items(pairs_or_texts) -> int | None:
    try:
        return len(pairs_or_texts)
    except TypeError:
        return None


# --------------------------------------------------------------------------- capture


def capture_mean_activations(
    model,
    tokenizer,
    pairs_or_texts: Iterable,
    *,
    max_length: int,
    batch_size: int = 16,
    progress: bool = True,
    bf16: bool = False,
    adapter=None,
) -> ActivationStats:
    """Capture the mean activation of every MLP neuron over a set of inputs.

    `pairs_or_texts` contains preference pairs (objects with prompt, chosen and rejected; each
    input is ``format_text(prompt, response)``) or plain strings. Only non-padding tokens count.
    The magnitude importance ``stats.mean_activations`` is the mean of two means: the mean over
    every non-padding token of the chosen inputs and the same mean over the rejected inputs
    (for plain texts, the mean over every non-padding token). For pairs the result also contains
    the chosen-vs-rejected RMSD: per pair and layer, ``sqrt(mean_j (m_j(chosen) - m_j(rejected))^2)``
    where m_j is the mean of a_j over the non-padding tokens of one sequence.

    `batch_size` counts sequences per forward pass (a pair is two). Per-sequence sums are
    reduced in float32 inside the hooks and accumulated in float64. With `bf16` the forward
    pass runs under bfloat16 autocast. The model runs in eval mode (no dropout) and its
    previous mode is restored afterwards.
    """
    modules = activation_modules(model, adapter)
    num_layers = len(modules)
    device = model_device(model)

    group_sums: dict[str, torch.Tensor] = {}
    group_tokens: dict[str, int] = {}
    group_sequences: dict[str, int] = {}
    rmsd_sums = torch.zeros(num_layers, dtype=torch.float64)
    n_rmsd_pairs = n_identical_pairs = n_truncated = 0

    n_items = _count_items(pairs_or_texts)
    bar = _progress_bar(n_items, progress, "capture")
    hooks = _SequenceSumHooks(modules)
    try:
        with eval_mode(model), torch.inference_mode(), autocast_context(device, bf16):
            batches = iter_batches(
                tokenizer, pairs_or_texts, max_length=max_length, batch_size=batch_size
            )
            for batch in batches:
                attention_mask = batch.attention_mask.to(device)
                hooks.token_weights = attention_mask.float()
                backbone_forward(model, batch.input_ids.to(device), attention_mask)
                sums = hooks.take().cpu()  # [num_layers, batch, d_mlp] float64
                tokens = batch.attention_mask.sum(dim=1)  # [batch]

                for group in dict.fromkeys(batch.groups):
                    rows = [row for row, name in enumerate(batch.groups) if name == group]
                    group_total = sums[:, rows].sum(dim=1)  # [num_layers, d_mlp]
                    if group in group_sums:
                        group_sums[group] += group_total
                    else:
                        group_sums[group] = group_total
                    group_tokens[group] = group_tokens.get(group, 0) + int(tokens[rows].sum())
                    group_sequences[group] = group_sequences.get(group, 0) + len(rows)

                kept = [rows for rows, same in zip(batch.pair_rows, batch.identical) if not same]
                n_identical_pairs += len(batch.pair_rows) - len(kept)
                if kept:
                    chosen_rows = [c for c, _ in kept]
                    rejected_rows = [r for _, r in kept]
                    seq_means = sums / tokens.to(torch.float64)[None, :, None]
                    diff = seq_means[:, chosen_rows] - seq_means[:, rejected_rows]  # [L, pairs, d]
                    rmsd_sums += diff.pow(2).mean(dim=2).sqrt().sum(dim=1)
                    n_rmsd_pairs += len(kept)

                n_truncated += batch.n_truncated
                bar.update(len(batch.pair_rows) if batch.pair_rows else len(batch.groups))
    finally:
        hooks.remove()
        bar.close()

    if not group_sums:
        raise ValueError("no inputs to capture activations from")
    if n_identical_pairs:
        logger.warning(
            "%d of %d pairs have identical chosen and rejected token ids after left truncation "
            "to %d tokens. They count toward the means but not toward the RMSD",
            n_identical_pairs, n_rmsd_pairs + n_identical_pairs, max_length,
        )
    if n_truncated:
        logger.info("left-truncated %d sequences to %d tokens", n_truncated, max_length)

    return ActivationStats(
        group_sums={group: total.numpy() for group, total in group_sums.items()},
        group_tokens=group_tokens,
        group_sequences=group_sequences,
        rmsd_sums=rmsd_sums.numpy(),
        n_rmsd_pairs=n_rmsd_pairs,
        n_identical_pairs=n_identical_pairs,
        n_truncated=n_truncated,
        max_length=max_length,
    )
