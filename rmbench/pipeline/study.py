"""One backbone and seed of a profile, run end to end through the on-disk caches.

A `Study` trains (or looks up) the helpful, harmless and mixed RMs. It scores every task with
each of them and with the untrained backbone, finds the oriented neurons and scores the
ablations, then collects every number the claims need into a `StudyResults` record. Each stage goes through its
own cache (trained models, scores, importance), so a second run, a new claim or a test that needs
the same artefact never recomputes it, and an interrupted run resumes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from rmbench.cache_dir import atomic_write, resolve_cache_dir
from rmbench.pipeline.results import StudyResults, TaskEvaluation
from rmbench.profiles import BackboneSpec, Profile

logger = logging.getLogger(__name__)

OBJECTIVES = ("helpful", "harmless", "mixed")
MODELS = OBJECTIVES + ("untrained",)

# The objective whose data defines each RM's oriented neurons: N_H from the helpful RM on D_H,
# N_S from the harmless RM on D_S, N_HS from the mixed RM on D_H ∪ D_S.
OWN_SET = {"helpful": "N_H", "harmless": "N_S", "mixed": "N_HS"}


class Study:
    """Lazily computed artefacts of one (profile, backbone, seed)."""

    def __init__(
        self,
        profile: Profile,
        backbone: BackboneSpec,
        seed: int,
        *,
        data_dir: str | Path | None = None,
        cache_dir: str | Path | None = None,
        rm_paths: dict[str, str] | None = None,
    ):
        self.profile = profile
        self.backbone = backbone
        self.seed = seed
        self.data_dir = data_dir
        self.cache_dir = resolve_cache_dir(cache_dir)
        # Optional already-trained RMs by objective (path or hub id), from --rm-manifest.
        self.rm_paths = dict(rm_paths or {})
        self.timings: dict[str, float] = {}
        self._loaded: dict[str, Any] = {}
        self._manifests: dict[str, dict] = {}
        self.unavailable_tasks: dict[str, str] = {}  # task -> reason, filled by tasks()
        self._tasks: dict[str, list] | None = None
        self._importance: dict[tuple[str, str], np.ndarray] = {}

    @property
    def label(self) -> str:
        return f"{self.backbone.label}/seed{self.seed}"

    # ------------------------------------------------------------------ training

    def train_config(self, objective: str):
        from rmbench.training.config import TrainConfig

        settings = self.profile.training
        epochs = settings.epochs_mixed if objective == "mixed" else settings.epochs_single
        return TrainConfig(
            backbone=self.backbone.name,
            num_layers=self.backbone.num_layers,
            objective=objective,
            seed=self.seed,
            train_pairs=settings.train_pairs,
            heldout_pairs=settings.heldout_pairs,
            max_length=settings.max_length,
            learning_rate=settings.learning_rate,
            batch_size=settings.batch_size,
            epochs=epochs,
            warmup_ratio=settings.warmup_ratio,
            bf16=settings.bf16,
            split=settings.split,
            data_dir=str(self.data_dir) if self.data_dir else None,
        )

    def rm_path(self, objective: str) -> str:
        """Return the trained RM for an objective, training it through the model cache if needed."""
        if objective in self.rm_paths:
            return self.rm_paths[objective]

        from rmbench.training.cache import get_or_train

        start = time.perf_counter()
        path = get_or_train(self.train_config(objective), cache_dir=self.cache_dir)
        self.timings[f"train/{objective}"] = time.perf_counter() - start
        # Memoised: computing the cache key fingerprints the training data, which takes seconds.
        self.rm_paths[objective] = str(path)
        return str(path)

    def manifest(self, objective: str) -> dict:
        from rmbench.training.cache import read_manifest

        if objective not in self._manifests:
            path = Path(self.rm_path(objective))
            self._manifests[objective] = read_manifest(path) if (path / "manifest.json").is_file() else {}
        return self._manifests[objective]

    def heldout(self, objective: str) -> dict:
        """Return the RM's held-out HH-RLHF accuracy per objective with 95% intervals.

        RMs trained here carry it in their manifest. For an RM from `--rm-manifest` it is scored
        on the profile's held-out pairs once and cached beside the scores.
        """
        recorded = self.manifest(objective).get("heldout")
        if recorded:
            return recorded

        path = self.cache_dir / "heldout" / f"{self.model_key(objective)}-{self.profile.training.heldout_pairs}.json"
        if path.is_file():
            return json.loads(path.read_text())

        from rmbench.training.trainer import evaluate_heldout

        logger.info("[%s] scoring held-out HH-RLHF pairs with the %s RM", self.label, objective)
        model, tokenizer = self.model(objective)
        result = evaluate_heldout(model, tokenizer, self.train_config(objective))
        atomic_write(path, lambda temporary: temporary.write_text(json.dumps(result)))
        return result

    def model_key(self, model_name: str) -> str:
        """Cache key of a model's weights, used to key its scores and importance."""
        if model_name == "untrained":
            from rmbench.models.backbones import backbone_fingerprint

            fingerprint = backbone_fingerprint(self.backbone.name, self.backbone.num_layers)
            return f"untrained-{fingerprint}-seed{self.seed}"
        manifest = self.manifest(model_name)
        if manifest.get("cache_key"):
            return manifest["cache_key"]
        ref = self.rm_path(model_name)
        return "external-" + hashlib.sha256(ref.encode()).hexdigest()[:16]

    def model(self, model_name: str):
        """Return (model, tokenizer) for an RM objective or the untrained backbone, memoised."""
        if model_name in self._loaded:
            return self._loaded[model_name]

        if model_name == "untrained":
            from rmbench.models.backbones import load_backbone

            loaded = load_backbone(
                self.backbone.name, num_layers=self.backbone.num_layers, seed=self.seed
            )
        else:
            from rmbench.models.loading import load_reward_model

            loaded = load_reward_model(self.rm_path(model_name))
        loaded[0].eval()
        self._loaded[model_name] = loaded
        return loaded

    # ------------------------------------------------------------------ evaluation

    def tasks(self) -> dict[str, list]:
        """Return the evaluation items per available task, subsampled as the profile sets."""
        if self._tasks is not None:
            return self._tasks

        from rmbench.pipeline.task_selection import select_task_items

        self._tasks = select_task_items(self.profile, self.data_dir, self.unavailable_tasks)
        return self._tasks

    def task_scores(self, model_name: str, task: str, mask=None, mask_key: str = "none"):
        from rmbench.scoring.cache import score_task

        model, tokenizer = self.model(model_name)
        settings = self.profile.evaluation
        items = self.tasks()[task]
        if mask is None:
            return score_task(
                model, tokenizer, self.model_key(model_name), task, items,
                max_length=settings.max_length, ablation_key="none",
                cache_dir=self.cache_dir, batch_size=settings.batch_size,
            )

        from rmbench.neurons.ablation import ablate

        with ablate(model, mask):
            return score_task(
                model, tokenizer, self.model_key(model_name), task, items,
                max_length=settings.max_length, ablation_key=mask_key,
                cache_dir=self.cache_dir, batch_size=settings.batch_size,
            )

    def evaluate(
        self, model_name: str, mask=None, mask_key: str = "none", tasks=None
    ) -> dict[str, TaskEvaluation]:
        """Score every task (or the given ones) with a model, optionally under an ablation."""
        from rmbench.tasks import TASKS

        start = time.perf_counter()
        evaluations = {}
        for task in tasks or self.tasks():
            scores = self.task_scores(model_name, task, mask, mask_key)
            evaluations[task] = TaskEvaluation(
                format=TASKS[task].format,
                chosen=np.asarray(scores.chosen, dtype=float),
                rejected=np.asarray(scores.rejected, dtype=float),
            )
        self.timings[f"score/{model_name}/{mask_key}"] = time.perf_counter() - start
        return evaluations

    # ------------------------------------------------------------------ neurons

    def capture_texts(self, objective: str) -> list:
        """Return the RM's own training pairs used to compute its neuron importance."""
        from rmbench.data.hh_rlhf import objective_pairs

        settings = self.profile.training
        pairs = objective_pairs(
            objective, "train", data_dir=self.data_dir, limit=settings.train_pairs, seed=self.seed
        )
        rng = np.random.default_rng(self.seed)
        count = min(self.profile.neurons.capture_pairs, len(pairs))
        picked = sorted(rng.choice(len(pairs), size=count, replace=False).tolist())
        return [pairs[i] for i in picked]

    def _data_key(self, objective: str) -> str:
        from rmbench.data.hh_rlhf import data_fingerprint

        return data_fingerprint(self.capture_texts(objective)) + f"-len{self.profile.neurons.max_length}"

    def activation_stats(self, objective: str):
        """Return the RM's captured activation statistics on its own training pairs (cached)."""
        from rmbench.neurons.capture import capture_mean_activations
        from rmbench.neurons.importance import cached_activation_stats

        def compute():
            model, tokenizer = self.model(objective)
            return capture_mean_activations(
                model, tokenizer, self.capture_texts(objective),
                max_length=self.profile.neurons.max_length,
                batch_size=self.profile.evaluation.batch_size,
            )

        start = time.perf_counter()
        stats = cached_activation_stats(
            self.model_key(objective), self._data_key(objective), compute, cache_dir=self.cache_dir
        )
        self.timings[f"capture/{objective}"] = time.perf_counter() - start
        return stats

    def importance(self, objective: str, method: str = "magnitude") -> np.ndarray:
        """Return neuron scores [num_layers, d_mlp] of an RM on its own training data."""
        key = (objective, method)
        if key in self._importance:
            return self._importance[key]

        from rmbench.neurons import importance as imp

        if method == "magnitude":
            scores = imp.magnitude_importance(self.activation_stats(objective))
        elif method == "random":
            # A different stream per objective, so the three RMs do not share one random set.
            offset = OBJECTIVES.index(objective) + 1
            scores = imp.random_importance(self.importance(objective, "magnitude").shape, seed=self.seed * 1000 + offset)
        elif method == "change":

            def compute():
                trained, tokenizer = self.model(objective)
                base, _ = self.model("untrained")
                return imp.change_importance(
                    trained, base, tokenizer, self.capture_texts(objective),
                    max_length=self.profile.neurons.max_length,
                    batch_size=self.profile.evaluation.batch_size,
                )

            start = time.perf_counter()
            scores = imp.cached_importance(
                self.model_key(objective), self._data_key(objective), method, compute, cache_dir=self.cache_dir
            )
            self.timings[f"importance/{objective}/change"] = time.perf_counter() - start
        else:
            raise ValueError(f"unknown importance method '{method}'; use magnitude, change or random")
        self._importance[key] = scores
        return scores

    def rmsd(self, objective: str) -> float:
        """Return the mean RMSD between chosen and rejected activations over pairs and layers."""
        return float(self.activation_stats(objective).mean_rmsd)

    def neuron_sets(self, method: str = "magnitude", tau: float | None = None) -> dict[str, np.ndarray]:
        """Return N_H, N_S, N_HS and the shared / helpful-only / harmless-only partition."""
        from rmbench.neurons.selection import partition, select_top

        tau = self.profile.neurons.tau if tau is None else tau
        sets = {
            OWN_SET[objective]: select_top(self.importance(objective, method), tau)
            for objective in OBJECTIVES
        }
        sets.update(partition(sets["N_H"], sets["N_S"]))
        return sets

    # ------------------------------------------------------------------ everything

    def run(self, stages: tuple[str, ...] | None = None) -> StudyResults:
        """Compute every artefact the claims need (or only `stages`), through the caches."""
        from rmbench.pipeline.collect import ALL_STAGES, collect_results

        return collect_results(self, stages or ALL_STAGES)
