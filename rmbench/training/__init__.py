"""Reward-model training through TRL's RewardTrainer and the shared on-disk model cache."""

from rmbench.training.cache import (
    InvalidManifest,
    clear_cache,
    format_cache_table,
    get_or_train,
    is_complete_model,
    list_cache,
    model_path,
    read_manifest,
)
from rmbench.training.config import OBJECTIVES, TrainConfig
from rmbench.training.devices import pick_device_for_worker, pin_worker_to_device
from rmbench.training.trainer import evaluate_heldout, prepare_pairs, train_reward_model

__all__ = [
    "InvalidManifest",
    "OBJECTIVES",
    "TrainConfig",
    "clear_cache",
    "evaluate_heldout",
    "format_cache_table",
    "get_or_train",
    "is_complete_model",
    "list_cache",
    "model_path",
    "pick_device_for_worker",
    "pin_worker_to_device",
    "prepare_pairs",
    "read_manifest",
    "train_reward_model",
]
