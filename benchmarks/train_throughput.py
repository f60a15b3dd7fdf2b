"""Compare TRL RewardTrainer throughput with a bare PyTorch Bradley-Terry loop.

Both runs start from the same seeded backbone and see the same batches in the same order: real
HH-RLHF pairs (helpful and harmless, train part) from RMBENCH_DATA_DIR, left-truncated to
``--max-length`` tokens and padded per batch. The bare loop configures AdamW as the Trainer does
by default (fused implementation, no weight decay, gradient clipping at 1.0) with a linear
schedule. The first ``--warmup-steps`` steps of each run are excluded from the timing.

Example::

    python benchmarks/train_throughput.py --num-layers 4 --steps 20 --max-length 128
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import time
from pathlib import Path

import torch

logger = logging.getLogger("train_throughput")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="smollm2-135m-instruct-gguf", help="backbone name (rmbench.models.BACKBONES)")
    parser.add_argument("--num-layers", type=int, default=4, help="keep the first N transformer layers (default 4)")
    parser.add_argument("--steps", type=int, default=20, help="timed optimizer steps per run (default 20)")
    parser.add_argument("--warmup-steps", type=int, default=2, help="untimed steps before the timed ones (default 2)")
    parser.add_argument("--max-length", type=int, default=128, help="tokens per text after left truncation (default 128)")
    parser.add_argument("--batch-size", type=int, default=8, help="preference pairs per step (default 8)")
    parser.add_argument("--learning-rate", type=float, default=5e-5, help="peak learning rate (default 5e-5)")
    parser.add_argument("--no-bf16", dest="bf16", action="store_false", help="train in float32 instead of bf16 autocast")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--data-dir", default=None, help="local data directory (default: $RMBENCH_DATA_DIR)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the head and of both runs (default 0)")
    parser.add_argument("--json", dest="json_path", default=None, help="also write the results to this JSON file")
    return parser.parse_args(argv)


def build_batches(args, tokenizer) -> tuple[list[dict[str, torch.Tensor]], list[dict[str, list[int]]]]:
    """Return ``warmup + steps`` right-padded batches (chosen rows, then rejected rows) and their examples."""
    from trl.trainer.reward_trainer import DataCollatorForPreference

    from rmbench.data import objective_pairs
    from rmbench.training.trainer import prepare_pairs

    n_steps = args.warmup_steps + args.steps
    needed = n_steps * args.batch_size
    # Half helpful, half harmless; prepare_pairs may drop a few, so load some spare pairs.
    pairs = objective_pairs("mixed", "train", args.data_dir, limit=needed // 2 + 32, seed=0)
    prepared = prepare_pairs(pairs, tokenizer, args.max_length)
    if len(prepared) < needed:
        raise SystemExit(f"only {len(prepared)} usable pairs for {needed} needed; lower --steps or --batch-size")
    examples = [
        {"chosen_ids": chosen, "rejected_ids": rejected}
        for chosen, rejected in zip(prepared.chosen_ids[:needed], prepared.rejected_ids[:needed])
    ]
    collate = DataCollatorForPreference(pad_token_id=tokenizer.pad_token_id)
    return [collate(examples[i : i + args.batch_size]) for i in range(0, needed, args.batch_size)], examples


def run_trl(args, examples, tmp_dir: str) -> dict:
    """Train with RewardTrainer on ``examples`` in order; return timing and losses."""
    from datasets import Dataset
    from torch.utils.data import SequentialSampler
    from transformers import TrainerCallback
    from trl import RewardTrainer

    from rmbench.models import load_backbone
    from rmbench.training import TrainConfig
    from rmbench.training.trainer import build_reward_config

    class InOrderRewardTrainer(RewardTrainer):
        # Same batches as the bare loop: no shuffling.
        def _get_train_sampler(self, *unused, **unused_kwargs):
            return SequentialSampler(self.train_dataset)

    class StepClock(TrainerCallback):
        def __init__(self):
            self.step_ends: list[tuple[float, float]] = []
            self.losses: list[float] = []

        def on_step_end(self, *unused, **unused_kwargs):
            self.step_ends.append(_now())

        def on_log(self, _args, _state, _control, logs=None, **unused):
            if logs and "loss" in logs:
                self.losses.append(float(logs["loss"]))

    model, tokenizer = load_backbone(args.backbone, num_layers=args.num_layers, seed=args.seed)
    cfg = TrainConfig(
        backbone=args.backbone,
        num_layers=args.num_layers,
        seed=args.seed,
        max_length=args.max_length,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        epochs=1,
        bf16=args.bf16,
        logging_steps=1,
        checkpoint_steps=10**9,
        progress=False,
    )
    reward_args = build_reward_config(cfg, Path(tmp_dir))
    reward_args.save_strategy = "no"
    clock = StepClock()
    trainer = InOrderRewardTrainer(
        model=model,
        args=reward_args,
        train_dataset=Dataset.from_list(examples),
        processing_class=tokenizer,
        callbacks=[clock],
    )
    started = _now()
    trainer.train()
    return {"step_ends": clock.step_ends, "started": started, "losses": clock.losses}


def run_bare(args, batches) -> dict:
    """Train with a hand-written Bradley-Terry loop on ``batches``; return timing and losses."""
    from transformers import get_linear_schedule_with_warmup

    from rmbench.models import load_backbone, reward_forward

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, _ = load_backbone(args.backbone, num_layers=args.num_layers, seed=args.seed)
    model.to(device).train()
    # The Trainer's default optimizer is adamw_torch_fused; the foreach AdamW is about 3x slower on CPU.
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=0.0, fused=True)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, len(batches))
    step_ends, losses = [], []
    started = _now()
    for batch in batches:
        input_ids = batch["input_ids"].to(device)
        attention_mask = batch["attention_mask"].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
            rewards = reward_forward(model, input_ids, attention_mask)
        chosen, rejected = rewards.float().chunk(2)
        loss = -torch.nn.functional.logsigmoid(chosen - rejected).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.detach().item())  # item() waits for the device, so the clock below is honest
        step_ends.append(_now())
    return {"step_ends": step_ends, "started": started, "losses": losses}


def _now() -> tuple[float, float]:
    """Return (wall clock, CPU time of this process over all its threads), both in seconds."""
    return time.perf_counter(), time.process_time()


def summarize(run: dict, batches, warmup: int) -> dict:
    """Return wall and CPU seconds per timed step and the token rate.

    On a shared machine the wall clock also counts time spent waiting for other processes, so the
    median step and the CPU time are reported beside the mean.
    """
    ends = [run["started"]] + run["step_ends"]
    timed = ends[warmup:]
    wall_steps = [b[0] - a[0] for a, b in zip(timed, timed[1:])]
    wall = timed[-1][0] - timed[0][0]
    cpu = timed[-1][1] - timed[0][1]
    tokens = sum(int(b["attention_mask"].sum()) for b in batches[warmup:])
    return {
        "timed_steps": len(wall_steps),
        "wall_seconds": round(wall, 3),
        "seconds_per_step": round(wall / len(wall_steps), 4),
        "median_seconds_per_step": round(statistics.median(wall_steps), 4),
        "cpu_seconds_per_step": round(cpu / len(wall_steps), 4),
        "steps_per_s": round(len(wall_steps) / wall, 4),
        "tokens_per_s": round(tokens / wall, 1),
        "first_loss": run["losses"][0] if run["losses"] else math.nan,
        "last_loss": run["losses"][-1] if run["losses"] else math.nan,
    }


def main(argv=None) -> dict:
    import tempfile

    logging.basicConfig(level=logging.WARNING)
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from rmbench.models import load_backbone

    _, tokenizer = load_backbone(args.backbone, num_layers=args.num_layers, seed=args.seed)
    batches, examples = build_batches(args, tokenizer)
    with tempfile.TemporaryDirectory() as tmp_dir:
        trl_run = run_trl(args, examples, tmp_dir)
    bare_run = run_bare(args, batches)

    trl = summarize(trl_run, batches, args.warmup_steps)
    bare = summarize(bare_run, batches, args.warmup_steps)
    steps = min(len(trl_run["losses"]), len(bare_run["losses"]))
    loss_gap = max(abs(a - b) for a, b in zip(trl_run["losses"][:steps], bare_run["losses"][:steps]))
    result = {
        "backbone": args.backbone,
        "num_layers": args.num_layers,
        "max_length": args.max_length,
        "batch_size": args.batch_size,
        "bf16": args.bf16,
        "torch_threads": torch.get_num_threads(),
        "padded_tokens_per_step": sum(b["attention_mask"].numel() for b in batches) / len(batches),
        "trl": trl,
        "bare": bare,
        "trl_over_bare_time": round(trl["wall_seconds"] / bare["wall_seconds"], 3),
        "trl_over_bare_median_step": round(trl["median_seconds_per_step"] / bare["median_seconds_per_step"], 3),
        "trl_over_bare_cpu_time": round(trl["cpu_seconds_per_step"] / bare["cpu_seconds_per_step"], 3),
        "max_loss_gap": loss_gap,
    }
    print(f"backbone {args.backbone}, {args.num_layers} layers, {args.max_length} tokens, "
          f"batch {args.batch_size} pairs, bf16 autocast {args.bf16}, {torch.get_num_threads()} threads")
    for name, row in (("RewardTrainer", trl), ("bare loop", bare)):
        print(f"{name:>14}: {row['seconds_per_step']:.3f} s/step (median {row['median_seconds_per_step']:.3f}, "
              f"CPU {row['cpu_seconds_per_step']:.3f}), {row['steps_per_s']:.3f} steps/s, "
              f"{row['tokens_per_s']:.0f} tokens/s over {row['timed_steps']} steps")
    print(f"RewardTrainer / bare loop: wall time {result['trl_over_bare_time']:.3f}, "
          f"median step {result['trl_over_bare_median_step']:.3f}, CPU time {result['trl_over_bare_cpu_time']:.3f}")
    print(f"max per-step loss difference: {loss_gap:.2e}")
    if args.json_path:
        with open(args.json_path, "w") as handle:
            json.dump(result, handle, indent=2)
    return result


if __name__ == "__main__":
    main()
