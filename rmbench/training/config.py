"""Reward-model training configuration and its cache key."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

OBJECTIVES = ("helpful", "harmless", "mixed")

# Bump when the training recipe changes in a way the fields below do not capture, so that models
# cached by an older recipe are not reused.
TRAINING_RECIPE_VERSION = 1

# Fields that change how or where training runs but not the trained weights or the manifest's metrics.
_FIELDS_OUTSIDE_KEY = {"data_dir", "device", "checkpoint_steps", "logging_steps", "progress"}


@dataclass
class TrainConfig:
    """Settings of one reward-model training run; :meth:`cache_key` hashes those that shape the result.

    Defaults follow Tanwar and Atanasova ("Understanding helpfulness and harmless tension in reward
    models"): learning rate 5e-5, 8 pairs per batch, a linear schedule, and 2 epochs for
    single-objective RMs and 1 for the mixed RM (``epochs=None``). The mixed RM trains on
    the union of the ``train_pairs`` helpful and ``train_pairs`` harmless pairs.
    """

    backbone: str
    num_layers: int | None = None
    objective: str = "helpful"
    seed: int = 0
    train_pairs: int | None = 400  # per objective; None = every pair of the train part
    heldout_pairs: int = 200  # per objective (helpful and harmless) for the held-out accuracy
    max_length: int = 128  # tokens per text after left truncation (training and held-out scoring)
    learning_rate: float = 5e-5
    batch_size: int = 8  # preference pairs per optimizer step
    epochs: float | None = None  # None: 2 for helpful/harmless, 1 for mixed
    lr_scheduler: str = "linear"
    warmup_ratio: float = 0.0
    bf16: bool = False  # bf16 autocast (on CPU as well); weights stay float32
    data_dir: str | None = None  # None: RMBENCH_DATA_DIR, else the Hugging Face hub
    split: str = "test"  # HH-RLHF split that the train and held-out parts are carved from
    data_seed: int = 0  # seed of the pair subsample; the same for every model seed
    bootstrap: int = 1000  # resamples for the held-out accuracy intervals
    checkpoint_steps: int = 50  # save a resumable checkpoint every N optimizer steps
    logging_steps: int = 10
    device: str | None = None  # "cpu", "cuda", "cuda:0"; None lets the Trainer choose
    progress: bool = True  # show the Trainer's tqdm bar

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.train_pairs is not None and self.train_pairs < 1:
            raise ValueError(f"train_pairs must be >= 1 or None, got {self.train_pairs}")
        if self.heldout_pairs < 0:
            raise ValueError(f"heldout_pairs must be >= 0, got {self.heldout_pairs}")
        if self.max_length < 2:
            raise ValueError(f"max_length must be at least 2 tokens, got {self.max_length}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.epochs is not None and self.epochs <= 0:
            raise ValueError(f"epochs must be positive or None, got {self.epochs}")
        if self.checkpoint_steps < 1:
            raise ValueError(f"checkpoint_steps must be >= 1, got {self.checkpoint_steps}")

    @property
    def num_epochs(self) -> float:
        """Epochs actually trained: ``epochs``, else 2 for single-objective RMs and 1 for the mixed RM."""
        if self.epochs is not None:
            return self.epochs
        return 1.0 if self.objective == "mixed" else 2.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def key_fields(self) -> dict:
        """Return every input of the cache key except the data and library fingerprints."""
        fields = {k: v for k, v in self.to_dict().items() if k not in _FIELDS_OUTSIDE_KEY}
        fields["epochs"] = self.num_epochs
        return fields

    def key_material(self) -> dict:
        """Return the JSON-serialisable record that :meth:`cache_key` hashes."""
        from rmbench.models.backbones import backbone_fingerprint

        return {
            "recipe_version": TRAINING_RECIPE_VERSION,
            "config": self.key_fields(),
            "backbone_fingerprint": backbone_fingerprint(self.backbone, self.num_layers),
            "train_data_fingerprint": self.train_data_fingerprint(),
            "heldout_data_fingerprint": self.heldout_data_fingerprint(),
            "versions": library_versions(),
        }

    def cache_key(self) -> str:
        """Return the SHA-256 hex digest of everything that determines the model and its manifest.

        That covers the backbone fingerprint, the content of the train and held-out pairs, the
        hyper-parameters, the seed and the torch, transformers and trl versions. The data
        directory, device, checkpoint and logging intervals are left out: they change where or
        how training runs, not its result (results on GPU and CPU differ in rounding only).
        """
        encoded = json.dumps(self.key_material(), sort_keys=True).encode()
        return hashlib.sha256(encoded).hexdigest()

    def train_data_fingerprint(self) -> str:
        data_dir = _resolved_data_dir(self.data_dir)
        return _pairs_fingerprint(self.objective, "train", data_dir, self.train_pairs, self.data_seed, self.split)

    def heldout_data_fingerprint(self) -> str:
        data_dir = _resolved_data_dir(self.data_dir)
        parts = [
            _pairs_fingerprint(objective, "heldout", data_dir, self.heldout_pairs, self.data_seed, self.split)
            for objective in ("helpful", "harmless")
        ]
        return hashlib.sha256("".join(parts).encode()).hexdigest()


def _resolved_data_dir(data_dir: str | None) -> str | None:
    # Resolve RMBENCH_DATA_DIR now, so that the memo below never serves a directory read earlier.
    from rmbench.data import resolve_data_dir

    resolved = resolve_data_dir(data_dir)
    return None if resolved is None else str(resolved.resolve())


@lru_cache(maxsize=64)
def _pairs_fingerprint(objective, part, data_dir, limit, seed, split) -> str:
    # Memoised per process: the pipeline computes the key of every RM several times.
    from rmbench.data import data_fingerprint, objective_pairs

    return data_fingerprint(objective_pairs(objective, part, data_dir, limit, seed, split=split))


def library_versions() -> dict[str, str]:
    """Return the versions of the libraries whose numerics or training loop shape the model."""
    import accelerate
    import torch
    import transformers
    import trl

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "trl": trl.__version__,
        "accelerate": accelerate.__version__,
    }
