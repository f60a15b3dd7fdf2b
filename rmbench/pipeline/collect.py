"""Run every stage of a study through the caches and collect a `StudyResults` record."""

from __future__ import annotations

import logging
import time

import numpy as np

from rmbench.pipeline.results import StudyResults, TaskEvaluation
from rmbench.pipeline.study import MODELS, OBJECTIVES, OWN_SET, Study

logger = logging.getLogger(__name__)

# Ablations of the mixed RM that test shared-neuron dominance, plus a size-matched random control.
PARTITION_SETS = ("shared", "helpful_only", "harmless_only")


BEHAVIOUR_STAGES = ("train", "evaluate", "controls")
ALL_STAGES = BEHAVIOUR_STAGES + ("neurons", "ablate", "sweep")


def collect_results(study: Study, stages: tuple[str, ...] = ALL_STAGES) -> StudyResults:
    """Run the requested stages (all by default) and return the record.

    Behaviour-only runs (`rmbench evaluate`) leave `neurons` and `sweep` empty.
    """
    stage_start = time.perf_counter()
    timings: dict[str, float] = {}

    def stage(name: str) -> None:
        nonlocal stage_start
        now = time.perf_counter()
        timings[name] = round(now - stage_start, 1)
        stage_start = now
        logger.info("[%s] stage '%s' done in %.1f s", study.label, name, timings[name])

    logger.info("[%s] training or loading the helpful, harmless and mixed RMs", study.label)
    for objective in OBJECTIVES:
        study.rm_path(objective)
    manifests = {objective: study.manifest(objective) for objective in OBJECTIVES}
    heldout = {objective: study.heldout(objective) for objective in OBJECTIVES}
    stage("train")

    tasks = study.tasks()
    from rmbench.tasks import TASKS

    task_meta = {
        name: {
            "paper_name": TASKS[name].paper_name,
            "orientation": TASKS[name].orientation,
            "format": TASKS[name].format,
            "source": TASKS[name].source,
            "reconstruction": TASKS[name].reconstruction,
            "n_items": len(items),
        }
        for name, items in tasks.items()
    }

    evaluations: dict[str, dict[str, TaskEvaluation]] = {}
    for model_name in MODELS:
        logger.info("[%s] scoring %d tasks with the %s model", study.label, len(tasks), model_name)
        evaluations[f"{model_name}|none"] = study.evaluate(model_name)
    stage("evaluate")

    neurons: dict = {}
    sweep: list[dict] = []
    if "neurons" in stages:
        neurons = _neuron_summary(study)
        stage("neurons")
    if "ablate" in stages:
        _ablate(study, evaluations)
        stage("ablate")
    if "sweep" in stages:
        sweep = _tau_sweep(study, evaluations)
        stage("sweep")

    length_control = _length_control(study, evaluations)
    stage("controls")

    return StudyResults(
        profile=study.profile.name,
        backbone=study.backbone.label,
        seed=study.seed,
        tasks=task_meta,
        heldout=heldout,
        evaluations=evaluations,
        length_control=length_control,
        neurons=neurons,
        sweep=sweep,
        timings={**study.timings, **{f"stage/{k}": v for k, v in timings.items()}},
        manifests={k: _manifest_summary(v) for k, v in manifests.items()},
        unavailable_tasks=dict(study.unavailable_tasks),
    )


def _ablate(study: Study, evaluations: dict) -> None:
    """Score each RM with its own set ablated, and the mixed RM with each partition ablated."""
    sets = study.neuron_sets()
    for objective in OBJECTIVES:
        set_name = OWN_SET[objective]
        logger.info("[%s] scoring the %s RM with %s ablated", study.label, objective, set_name)
        evaluations[f"{objective}|{set_name}"] = study.evaluate(
            objective, sets[set_name], _mask_key(set_name, sets[set_name])
        )
    for set_name in PARTITION_SETS:
        logger.info("[%s] scoring the mixed RM with the %s set ablated", study.label, set_name)
        evaluations[f"mixed|{set_name}"] = study.evaluate(
            "mixed", sets[set_name], _mask_key(set_name, sets[set_name])
        )
    random_shared = _size_matched_random(sets["shared"], study.seed)
    evaluations["mixed|random_shared"] = study.evaluate(
        "mixed", random_shared, _mask_key("random_shared", random_shared)
    )


def _mask_key(name: str, mask: np.ndarray) -> str:
    from rmbench.neurons.ablation import ablation_key

    # The key depends on the mask alone, so the same neurons reached by two routes (N_H and the
    # magnitude sweep at the profile's tau) share one cached scoring pass.
    return ablation_key(mask)


def _size_matched_random(mask: np.ndarray, seed: int) -> np.ndarray:
    from rmbench.neurons.selection import size_matched_random

    return size_matched_random(mask, seed=seed)


def _neuron_summary(study: Study) -> dict:
    from rmbench.neurons.selection import layer_shares, neuron_retention, overlap_shares

    sets = study.neuron_sets()
    total = int(sets["N_H"].size)
    summary = {
        "tau": study.profile.neurons.tau,
        "total_neurons": total,
        "num_layers": int(sets["N_H"].shape[0]),
        "set_sizes": {name: int(mask.sum()) for name, mask in sets.items()},
        "layer_shares": {name: layer_shares(mask) for name, mask in sets.items()},
        "overlap": overlap_shares(sets["N_H"], sets["N_S"]),
        "neuron_retention": float(neuron_retention(sets["N_HS"], sets["N_H"], sets["N_S"])),
        "rmsd": {objective: study.rmsd(objective) for objective in OBJECTIVES},
        # RMS of each RM's mean activations over all neurons: the scale RMSD is compared with.
        "activation_scale": {
            objective: float(np.sqrt(np.mean(study.importance(objective) ** 2))) for objective in OBJECTIVES
        },
    }
    return summary


def _tau_sweep(study: Study, evaluations: dict) -> list[dict]:
    """Ablate each single RM's top-tau neurons by magnitude, change and random selection."""
    from rmbench.neurons.selection import select_top

    settings = study.profile.neurons
    rows = []
    for objective in ("helpful", "harmless"):
        own_tasks = [t for t in study.tasks() if _orientation(t) == objective]
        baseline = evaluations[f"{objective}|none"]
        base_acc = float(np.mean([baseline[t].accuracy for t in own_tasks]))
        for tau in settings.sweep_taus:
            for method in settings.sweep_methods:
                mask = select_top(study.importance(objective, method), tau)
                key = _mask_key(f"{method}@{tau:g}", mask)
                logger.info("[%s] sweep: %s RM, %s selection, tau=%g", study.label, objective, method, tau)
                ablated = study.evaluate(objective, mask, key, tasks=own_tasks)
                acc = float(np.mean([ablated[t].accuracy for t in own_tasks]))
                evaluations[f"{objective}|{method}@{tau:g}"] = ablated
                rows.append({
                    "objective": objective,
                    "method": method,
                    "tau": tau,
                    "baseline": base_acc,
                    "ablated": acc,
                    "delta": acc - base_acc,
                })
    return rows


def _orientation(task: str) -> str:
    from rmbench.tasks import TASKS

    return TASKS[task].orientation


def _length_control(study: Study, evaluations: dict) -> dict:
    """Accuracy of a response-length scorer per task, and each RM's share of (chosen, rejected)
    comparisons in which it rewards the longer response higher."""
    from rmbench.metrics.controls import (
        chosen_longer_share,
        length_scorer_accuracy,
        longer_preference,
        response_token_lengths,
    )
    from rmbench.tasks import TASKS

    _, tokenizer = study.model("untrained")
    scorer: dict[str, float] = {}
    prefers_longer: dict[str, dict[str, float]] = {model: {} for model in MODELS}
    prefers_longer["chosen_is_longer"] = {}
    for task, items in study.tasks().items():
        chosen_len, rejected_len = response_token_lengths(tokenizer, items)
        scorer[task] = length_scorer_accuracy(TASKS[task].format, chosen_len, rejected_len)
        prefers_longer["chosen_is_longer"][task] = chosen_longer_share(chosen_len, rejected_len)[0]
        for model in MODELS:
            ev = evaluations[f"{model}|none"][task]
            prefers_longer[model][task] = longer_preference(ev.chosen, ev.rejected, chosen_len, rejected_len).share
    return {"scorer": scorer, "prefers_longer": prefers_longer}


def _manifest_summary(manifest: dict) -> dict:
    keep = ("cache_key", "train_seconds", "tokens_per_second", "steps", "dropped", "final_loss", "versions")
    return {k: manifest[k] for k in keep if k in manifest}
