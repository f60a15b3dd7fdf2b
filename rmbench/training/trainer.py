"""Reward-model training with TRL's ``RewardTrainer`` and the held-out check that follows it.

The loss is TRL's Bradley-Terry loss ``-log sigmoid(r(x, y+) - r(x, y-))``. Texts are
``format_text(prompt, response)``, tokenized here with left truncation to ``max_length`` so the
final turns survive, and handed to TRL already tokenized (``chosen_ids`` / ``rejected_ids``). No
EOS token is appended, so the reward is read at the last token of the response. TRL's own length
filter gets the same ``max_length`` and therefore never drops a pair, and the trainer checks that
every prepared pair reaches TRL.

Distributed training: ``accelerate launch`` (or ``torchrun``) runs :func:`train_reward_model` in
every process. TRL and accelerate then shard the batches, ``batch_size`` stays the global number of
pairs per optimizer step, and only the main process evaluates and writes files.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase, TrainerCallback

from rmbench.training.config import TrainConfig, library_versions

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
WEIGHTS_NAME = "model.safetensors"
CHECKPOINT_DIR = "checkpoints"

# Reasons a training pair is dropped after tokenization.
DROP_IDENTICAL_AFTER_TRUNCATION = "identical_after_truncation"
DROP_ENDS_WITH_PAD = "ends_with_pad_token"


@dataclass
class PreparedPairs:
    """Tokenized training pairs plus what tokenization dropped or truncated."""

    chosen_ids: list[list[int]] = field(default_factory=list)
    rejected_ids: list[list[int]] = field(default_factory=list)
    subsets: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    truncated: int = 0  # kept pairs in which at least one text lost tokens on the left

    def __len__(self) -> int:
        return len(self.chosen_ids)


def prepare_pairs(pairs, tokenizer: PreTrainedTokenizerBase, max_length: int) -> PreparedPairs:
    """Tokenize preference pairs with left truncation and drop those that cannot train.

    A pair is dropped when truncation makes its chosen and rejected token ids identical, because
    the texts differed only beyond ``max_length`` tokens from the end. It is also dropped when a
    text ends in the pad token, because TRL's sequence-classification head would then read the
    reward at another position. Drops are counted by reason and logged.
    """
    from rmbench.data import format_text

    saved_side = tokenizer.truncation_side
    tokenizer.truncation_side = "left"
    try:
        chosen_texts = [format_text(pair.prompt, pair.chosen) for pair in pairs]
        rejected_texts = [format_text(pair.prompt, pair.rejected) for pair in pairs]
        chosen_full = tokenizer(chosen_texts, truncation=False)["input_ids"]
        rejected_full = tokenizer(rejected_texts, truncation=False)["input_ids"]
        chosen = tokenizer(chosen_texts, truncation=True, max_length=max_length)["input_ids"]
        rejected = tokenizer(rejected_texts, truncation=True, max_length=max_length)["input_ids"]
    finally:
        tokenizer.truncation_side = saved_side

    prepared = PreparedPairs()
    pad_id = tokenizer.pad_token_id
    for index, pair in enumerate(pairs):
        chosen_ids, rejected_ids = list(chosen[index]), list(rejected[index])
        if chosen_ids == rejected_ids:
            prepared.dropped[DROP_IDENTICAL_AFTER_TRUNCATION] += 1
            continue
        if chosen_ids[-1] == pad_id or rejected_ids[-1] == pad_id:
            prepared.dropped[DROP_ENDS_WITH_PAD] += 1
            continue
        if len(chosen_full[index]) > max_length or len(rejected_full[index]) > max_length:
            prepared.truncated += 1
        prepared.chosen_ids.append(chosen_ids)
        prepared.rejected_ids.append(rejected_ids)
        prepared.subsets[pair.subset] += 1

    for reason, count in sorted(prepared.dropped.items()):
        logger.warning("Dropped %d of %d training pairs: %s (max_length=%d)", count, len(pairs), reason, max_length)
    logger.info(
        "Prepared %d training pairs; %d were truncated on the left to %d tokens",
        len(prepared),
        prepared.truncated,
        max_length,
    )
    return prepared


class _TokenCountingCollator:
    """Wrap a collator and count real and padded tokens of every batch it builds."""

    def __init__(self, collator):
        self.collator = collator
        self.real_tokens = 0
        self.padded_tokens = 0

    def __call__(self, examples):
        batch = self.collator(examples)
        self.real_tokens += int(batch["attention_mask"].sum())
        self.padded_tokens += int(batch["attention_mask"].numel())
        return batch


class _LossRecorder(TrainerCallback):
    """Log every loss the Trainer reports through this module's logger."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            logger.info("step %d/%d loss %.4f", state.global_step, state.max_steps, logs["loss"])


def last_complete_checkpoint(checkpoint_dir: Path) -> Path | None:
    """Return the newest ``checkpoint-N`` folder whose trainer state was written, or None.

    The Trainer writes ``trainer_state.json`` after the weights, optimizer and RNG states, so a
    checkpoint interrupted mid-write lacks it and is skipped.
    """
    if not checkpoint_dir.is_dir():
        return None
    complete = []
    for candidate in checkpoint_dir.glob("checkpoint-*"):
        step = candidate.name.rsplit("-", 1)[-1]
        if step.isdigit() and (candidate / "trainer_state.json").is_file():
            complete.append((int(step), candidate))
    return max(complete)[1] if complete else None


def _world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def _device_arguments(device: str | None) -> dict[str, Any]:
    """Translate ``TrainConfig.device`` into ``RewardConfig`` arguments."""
    if device == "cpu" or (device is None and not torch.cuda.is_available()):
        return {"use_cpu": True}
    if device is None or device in ("cuda", "cuda:0"):
        return {}
    # NOTE: transformers' Trainer always trains on cuda:0 of the visible devices outside a
    # distributed launch, so a specific GPU has to be chosen through CUDA_VISIBLE_DEVICES.
    raise ValueError(
        f"device={device!r} is not supported in-process; expose that GPU alone with "
        "CUDA_VISIBLE_DEVICES and use device='cuda' (rmbench.training.devices.pin_worker_to_device does this)"
    )


def build_reward_config(cfg: TrainConfig, output_dir: Path):
    """Return the ``RewardConfig`` for ``cfg``, overriding TRL defaults that differ from the training recipe.

    The recipe of Tanwar and Atanasova ("Understanding helpfulness and harmless tension in reward
    models") is learning rate 5e-5, 8 pairs per batch and a linear schedule.
    """
    from trl import RewardConfig

    world = _world_size()
    if cfg.batch_size % world:
        raise ValueError(f"batch_size={cfg.batch_size} is not divisible by the {world} training processes")

    version_dependent: dict[str, Any] = {}
    fields = RewardConfig.__dataclass_fields__
    if "activation_checkpointing" in fields:
        # transformers 5 renamed gradient_checkpointing; TRL still defaults the old name to True.
        version_dependent["activation_checkpointing"] = False
    if "warmup_ratio" in fields:
        version_dependent["warmup_ratio"] = cfg.warmup_ratio
    else:
        # transformers 5 reads a warmup_steps value below 1 as a fraction of all steps.
        version_dependent["warmup_steps"] = cfg.warmup_ratio

    args = RewardConfig(
        output_dir=str(output_dir / CHECKPOINT_DIR),
        learning_rate=cfg.learning_rate,  # TRL defaults to 1e-4
        per_device_train_batch_size=cfg.batch_size // world,
        num_train_epochs=cfg.num_epochs,
        lr_scheduler_type=cfg.lr_scheduler,
        max_length=cfg.max_length,  # TRL defaults to 1024 and silently drops longer pairs
        gradient_checkpointing=False,  # TRL defaults to True, about 20% slower on CPU
        disable_dropout=True,
        bf16=cfg.bf16,  # TRL defaults to True; on CPU this is bf16 autocast with float32 weights
        center_rewards_coefficient=None,
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to="none",
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.checkpoint_steps,
        save_total_limit=2,
        disable_tqdm=not cfg.progress,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,  # every parameter of a backbone plus head gets a gradient
        **version_dependent,
        **_device_arguments(cfg.device),
    )
    if args.gradient_checkpointing:
        raise RuntimeError("gradient checkpointing is still on after RewardConfig resolved its arguments")
    return args


def _load_training_pairs(cfg: TrainConfig):
    from rmbench.data import objective_pairs

    return objective_pairs(cfg.objective, "train", cfg.data_dir, cfg.train_pairs, cfg.data_seed, split=cfg.split)


def evaluate_heldout(model, tokenizer, cfg: TrainConfig) -> dict[str, dict[str, Any]]:
    """Score held-out HH-RLHF pairs of both objectives; return accuracy and bootstrap 95% CI per objective.

    A pair counts 1 when the chosen response gets the higher reward, 0.5 on a tie, else 0. Texts are
    left-truncated to ``cfg.max_length`` as in training.
    """
    from rmbench.data import format_text, objective_pairs
    from rmbench.metrics import bootstrap_ci
    from rmbench.scoring.engine import score_texts

    results: dict[str, dict[str, Any]] = {}
    for objective in ("helpful", "harmless"):
        pairs = objective_pairs(objective, "heldout", cfg.data_dir, cfg.heldout_pairs, cfg.data_seed, split=cfg.split)
        if not pairs:
            results[objective] = {"n": 0, "accuracy": None, "ci_low": None, "ci_high": None}
            continue
        texts = [format_text(p.prompt, p.chosen) for p in pairs] + [format_text(p.prompt, p.rejected) for p in pairs]
        rewards = score_texts(model, tokenizer, texts, max_length=cfg.max_length, autocast=cfg.bf16, progress=False)
        chosen, rejected = rewards[: len(pairs)], rewards[len(pairs) :]
        correct = (chosen > rejected).astype(np.float64) + 0.5 * (chosen == rejected)
        low, high = bootstrap_ci(correct, n_boot=cfg.bootstrap, seed=0)
        results[objective] = {
            "n": len(pairs),
            "accuracy": float(correct.mean()),
            "ci_low": float(low),
            "ci_high": float(high),
            "mean_margin": float((chosen - rejected).mean()),
        }
        logger.info(
            "Held-out %s accuracy %.3f [%.3f, %.3f] on %d pairs",
            objective,
            correct.mean(),
            low,
            high,
            len(pairs),
        )
    return results


def _loss_curve(log_history: list[dict]) -> list[list[float]]:
    return [[entry["step"], entry["loss"]] for entry in log_history if "loss" in entry and "step" in entry]


def train_reward_model(cfg: TrainConfig, output_dir: str | os.PathLike, *, cache_key: str | None = None) -> dict:
    """Train one reward model into ``output_dir`` and write its ``manifest.json`` last; return the manifest.

    Checkpoints go to ``output_dir/checkpoints`` every ``cfg.checkpoint_steps`` steps. If that folder
    already contains a complete checkpoint (an interrupted earlier run of the same config), training
    resumes from it. When training ends, the weights and tokenizer are saved in ``output_dir``
    itself, the checkpoints are deleted, and held-out accuracy is measured on both objectives.
    """
    from datasets import Dataset
    from trl import RewardTrainer
    from trl.trainer.reward_trainer import DataCollatorForPreference

    from rmbench.models.backbones import get_backbone_spec, load_backbone

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    cache_key = cache_key or cfg.cache_key()

    pairs = _load_training_pairs(cfg)
    if not pairs:
        raise ValueError(f"No {cfg.objective} training pairs were loaded (data_dir={cfg.data_dir!r})")
    model, tokenizer = load_backbone(cfg.backbone, num_layers=cfg.num_layers, seed=cfg.seed)
    prepared = prepare_pairs(pairs, tokenizer, cfg.max_length)
    if not prepared.chosen_ids:
        raise ValueError(f"Every training pair was dropped during tokenization: {dict(prepared.dropped)}")
    dataset = Dataset.from_dict({"chosen_ids": prepared.chosen_ids, "rejected_ids": prepared.rejected_ids})

    args = build_reward_config(cfg, output_dir)
    collator = _TokenCountingCollator(
        DataCollatorForPreference(pad_token_id=tokenizer.pad_token_id, pad_to_multiple_of=args.pad_to_multiple_of)
    )
    trainer = RewardTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        data_collator=collator,
        callbacks=[_LossRecorder()],
    )
    if len(trainer.train_dataset) != len(prepared):
        raise RuntimeError(
            f"TRL kept {len(trainer.train_dataset)} of {len(prepared)} prepared pairs; "
            "its max_length filter must not drop pairs"
        )

    checkpoint = last_complete_checkpoint(output_dir / CHECKPOINT_DIR)
    resumed_from_step = int(checkpoint.name.rsplit("-", 1)[-1]) if checkpoint else 0
    if checkpoint:
        logger.info("Resuming training from %s", checkpoint)
    started = time.monotonic()
    train_output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    wall_time = time.monotonic() - started

    accelerator = trainer.accelerator
    # save_model runs in every process (sharded setups gather weights) and writes the weights and
    # the tokenizer (the trainer's processing_class) from the main one.
    trainer.save_model(str(output_dir))
    manifest: dict = {}
    if accelerator.is_main_process:
        shutil.rmtree(output_dir / CHECKPOINT_DIR, ignore_errors=True)

        trained_model = trainer.model
        heldout = evaluate_heldout(trained_model, tokenizer, cfg)
        steps_this_run = trainer.state.global_step - resumed_from_step
        loss_curve = _loss_curve(trainer.state.log_history)
        spec = get_backbone_spec(cfg.backbone)
        manifest = {
            "cache_key": cache_key,
            "config": cfg.to_dict(),
            "backbone": {
                "name": cfg.backbone,
                "num_layers": cfg.num_layers,
                "description": spec.description,
                "model_type": trained_model.config.model_type,
                "parameters": sum(p.numel() for p in trained_model.parameters()),
            },
            "data": {
                "train_pairs_loaded": len(pairs),
                "train_pairs_trained": len(prepared),
                "train_pairs_by_subset": dict(prepared.subsets),
                "dropped": dict(prepared.dropped),
                "truncated_pairs": prepared.truncated,
                "train_data_fingerprint": cfg.train_data_fingerprint(),
                "heldout_data_fingerprint": cfg.heldout_data_fingerprint(),
            },
            "training": {
                "steps": trainer.state.global_step,
                "epochs": cfg.num_epochs,
                "resumed_from_step": resumed_from_step,
                "steps_this_run": steps_this_run,
                "wall_time_s": round(wall_time, 3),
                "seconds_per_step": round(wall_time / steps_this_run, 4) if steps_this_run else None,
                "real_tokens_this_run": collator.real_tokens,
                "padded_tokens_this_run": collator.padded_tokens,
                "tokens_per_s": round(collator.real_tokens / wall_time, 1) if wall_time > 0 else None,
                "final_loss": loss_curve[-1][1] if loss_curve else train_output.training_loss,
                "mean_train_loss": train_output.training_loss,
                "loss_curve": loss_curve,
                "device": str(args.device),
                "world_size": _world_size(),
                "bf16": cfg.bf16,
            },
            "heldout": heldout,
            "versions": library_versions(),
            "trained_by": {"pid": os.getpid(), "host": platform.node()},
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "weights_file": WEIGHTS_NAME,
        }
        # Written last: a folder with a valid manifest is a complete model.
        write_manifest(output_dir, manifest)
    accelerator.wait_for_everyone()
    return manifest


def write_manifest(folder: Path, manifest: dict) -> None:
    """Write ``manifest.json`` atomically (temporary file, then ``os.replace``)."""
    tmp = folder / f".{MANIFEST_NAME}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    os.replace(tmp, folder / MANIFEST_NAME)
