"""Compare rmbench's dynamic-padding scorer with padding every sequence to a fixed length.

The fixed-length baseline right-pads every input to ``--max-length`` tokens (1,024 by default)
and batches texts in input order. This script scores the same real texts (LLMBar and RM-Bench items from the local data directory) both ways with the same
model, checks that the rewards agree, and prints throughput in real (non-padding) tokens per
second. Both runs use float32 so the agreement check is meaningful; pass ``--bf16`` to time the
dynamic scorer once more under bf16 autocast.

Usage::

    python benchmarks/scoring_speed.py                    # 200 texts, SmolLM2-135M GGUF, 4 layers
    python benchmarks/scoring_speed.py --n-texts 50 --threads 2
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import numpy as np
import torch

from rmbench.data import format_text
from rmbench.models.backbones import load_backbone
from rmbench.models.reward import reward_forward
from rmbench.scoring.engine import score_texts, tokenize_left_truncated
from rmbench.tasks import TaskUnavailable, load_task

# Tasks the texts are drawn from, in this order, until --n-texts are collected.
SOURCE_TASKS = ("llmbar-natural", "llmbar-adver-neighbor", "rm-bench-chat", "rm-bench-safety-refuse")
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def collect_texts(data_dir: Path, n_texts: int) -> list[str]:
    """Return the first ``n_texts`` (prompt + response) texts of the source tasks."""
    texts: list[str] = []
    for task in SOURCE_TASKS:
        try:
            items = load_task(task, data_dir=data_dir)
        except TaskUnavailable as error:
            logging.warning("task %s skipped: %s", task, error)
            continue
        for item in items:
            for response in item.chosen + item.rejected:
                texts.append(format_text(item.prompt, response))
                if len(texts) == n_texts:
                    return texts
    if not texts:
        raise SystemExit(f"no texts found under {data_dir}; set RMBENCH_DATA_DIR or --data-dir")
    logging.warning("only %d texts available, fewer than the %d requested", len(texts), n_texts)
    return texts


def score_fixed_padding(model, tokenizer, texts, *, pad_to: int, batch_size: int) -> np.ndarray:
    """Score texts in input order with every sequence right-padded to ``pad_to`` tokens."""
    token_ids = tokenize_left_truncated(tokenizer, texts, pad_to)
    rewards = np.empty(len(texts), dtype=np.float64)
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            rows = token_ids[start : start + batch_size]
            input_ids = torch.full((len(rows), pad_to), tokenizer.pad_token_id, dtype=torch.long)
            attention_mask = torch.zeros((len(rows), pad_to), dtype=torch.long)
            for row, ids in enumerate(rows):
                input_ids[row, : len(ids)] = torch.as_tensor(ids)
                attention_mask[row, : len(ids)] = 1
            rewards[start : start + len(rows)] = reward_forward(model, input_ids, attention_mask).float().numpy()
    return rewards


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-texts", type=int, default=200, help="number of texts to score (default 200)")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("RMBENCH_DATA_DIR") or DEFAULT_DATA_DIR),
                        help="local data directory in upstream layout (default $RMBENCH_DATA_DIR or ../shared/datasets)")
    parser.add_argument("--backbone", default="smollm2-135m-instruct-gguf", help="rmbench backbone name")
    parser.add_argument("--num-layers", type=int, default=4, help="keep the first N transformer layers (default 4)")
    parser.add_argument("--max-length", type=int, default=1024,
                        help="token limit of both scorers and the fixed padding length (default 1024)")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per batch for both scorers (default 16)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--bf16", action="store_true", help="also time the dynamic scorer under bf16 autocast")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)

    texts = collect_texts(args.data_dir, args.n_texts)
    model, tokenizer = load_backbone(args.backbone, num_layers=args.num_layers)
    lengths = [len(ids) for ids in tokenize_left_truncated(tokenizer, texts, args.max_length)]
    real_tokens = sum(lengths)
    print(f"model: {args.backbone}, {args.num_layers} layers, "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters, torch threads {torch.get_num_threads()}")
    print(f"texts: {len(texts)}, real tokens {real_tokens}, length min/median/max "
          f"{min(lengths)}/{int(np.median(lengths))}/{max(lengths)}")

    # One small untimed call first, so one-off start-up costs land in neither measurement.
    score_texts(model, tokenizer, texts[:2], max_length=args.max_length, autocast=False, progress=False)
    dynamic, dynamic_seconds = timed(lambda: score_texts(
        model, tokenizer, texts, max_length=args.max_length, batch_size=args.batch_size, autocast=False, progress=False))
    fixed, fixed_seconds = timed(lambda: score_fixed_padding(
        model, tokenizer, texts, pad_to=args.max_length, batch_size=args.batch_size))

    max_difference = float(np.max(np.abs(dynamic - fixed)))
    print(f"dynamic padding : {dynamic_seconds:8.2f} s  {real_tokens / dynamic_seconds:10.0f} real tokens/s")
    print(f"pad to {args.max_length:<8} : {fixed_seconds:8.2f} s  {real_tokens / fixed_seconds:10.0f} real tokens/s "
          f"({len(texts) * args.max_length} tokens computed)")
    print(f"speed-up        : {fixed_seconds / dynamic_seconds:.1f}x")
    print(f"max |reward difference| (fp32): {max_difference:.2e}")

    if args.bf16:
        autocast_rewards, autocast_seconds = timed(lambda: score_texts(
            model, tokenizer, texts, max_length=args.max_length, batch_size=args.batch_size, autocast=True, progress=False))
        print(f"dynamic + bf16  : {autocast_seconds:8.2f} s  {real_tokens / autocast_seconds:10.0f} real tokens/s, "
              f"max |difference| to fp32 {np.max(np.abs(autocast_rewards - dynamic)):.2e}")

    if max_difference > 1e-4:
        raise SystemExit(f"rewards differ by {max_difference:.2e}, more than the 1e-4 tolerance")


if __name__ == "__main__":
    main()
