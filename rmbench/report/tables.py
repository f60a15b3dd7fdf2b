"""Paper-style tables built from `StudyResults`, as Markdown.

Every accuracy carries a 95% bootstrap interval over items. Reconstructed tasks are marked with
"(rec.)" wherever their name appears.
"""

from __future__ import annotations

import numpy as np
from tabulate import tabulate

from rmbench.claims.base import heldout_estimate
from rmbench.claims.behaviour import task_retention
from rmbench.claims.neurons import ablation_delta
from rmbench.claims.stats import fmt_estimate, group_difference, group_mean
from rmbench.metrics.bootstrap import estimate
from rmbench.pipeline.results import StudyResults

RM_TYPES = ("helpful", "harmless", "mixed", "untrained")


def task_label(results: StudyResults, task: str) -> str:
    meta = results.tasks[task]
    return f"{task} (rec.)" if meta["reconstruction"] else task


def _acc(correct: np.ndarray) -> str:
    return estimate(correct, seed=0).fmt(3) if len(correct) else "n/a"


def heldout_table(results: StudyResults) -> str:
    rows = []
    for rm in ("helpful", "harmless", "mixed"):
        rows.append([
            rm,
            fmt_estimate(heldout_estimate(results, rm, "helpful")),
            fmt_estimate(heldout_estimate(results, rm, "harmless")),
        ])
    return tabulate(rows, headers=["RM", "held-out helpful", "held-out harmless"], tablefmt="github")


def accuracy_table(results: StudyResults, orientation: str) -> str:
    """Tables 13 / 14: accuracy per task and RM type, with the length scorer and the untrained control."""
    rows = []
    tasks = results.tasks_of(orientation)
    for task in tasks:
        row = [task_label(results, task), results.tasks[task]["n_items"]]
        row += [_acc(results.evaluation(rm)[task].correct) for rm in RM_TYPES]
        row.append(f"{results.length_control['scorer'][task]:.3f}")
        rows.append(row)

    group = ["group mean", sum(results.tasks[t]["n_items"] for t in tasks)]
    for rm in RM_TYPES:
        group.append(fmt_estimate(group_mean([results.evaluation(rm)[t].correct for t in tasks])))
    group.append(f"{np.mean([results.length_control['scorer'][t] for t in tasks]):.3f}")
    rows.append(group)
    headers = ["task", "items", "helpful RM", "harmless RM", "mixed RM", "untrained", "length scorer"]
    return tabulate(rows, headers=headers, tablefmt="github")


def prefers_longer_table(results: StudyResults) -> str:
    shares = results.length_control["prefers_longer"]
    rows = []
    for task in results.tasks:
        rows.append([task_label(results, task)] + [
            f"{shares[m][task]:.2f}" for m in ("chosen_is_longer",) + RM_TYPES
        ])
    headers = ["task", "chosen is longer", "helpful RM", "harmless RM", "mixed RM", "untrained"]
    return tabulate(rows, headers=headers, tablefmt="github")


def retention_table(results: StudyResults) -> str:
    """Table 1: retention per task, beside the value expected under independence and HS-H / HS-S."""
    rows = []
    for orientation in ("helpful", "harmless"):
        for task in results.tasks_of(orientation):
            r = task_retention(results, task)
            rows.append([
                orientation, task_label(results, task), f"{r['retention']:.3f}",
                f"{r['expected_if_independent']:.3f}", f"{r['difference']:+.3f}",
                f"{r['hs_h']:.3f}", f"{r['hs_s']:.3f}",
            ])
    headers = ["group", "task", "retention", "expected if independent", "difference", "HS-H", "HS-S"]
    return tabulate(rows, headers=headers, tablefmt="github")


def ablation_table(results: StudyResults, orientation: str) -> str:
    """Tables 2 / 3: accuracy change per task after ablating each RM's own top-tau neurons."""
    rows = []
    for model, ablation in (("helpful", "N_H"), ("harmless", "N_S"), ("mixed", "N_HS")):
        for task in results.tasks_of(orientation):
            base = results.evaluation(model)[task].correct
            ablated = results.evaluation(model, ablation)[task].correct
            delta = group_difference([ablated], [base])
            rows.append([f"{model} RM − {ablation}", task_label(results, task), f"{base.mean():.3f}", fmt_estimate(delta)])
        rows.append([f"{model} RM − {ablation}", "group mean", "", fmt_estimate(ablation_delta(results, model, ablation, orientation))])
    headers = ["model − ablated set", "task", "baseline", "change"]
    return tabulate(rows, headers=headers, tablefmt="github")


def partition_table(results: StudyResults) -> str:
    """Table 4: accuracy change of the mixed RM after ablating each partition of N_H and N_S."""
    rows = [[
        "baseline",
        fmt_estimate(group_mean([results.evaluation("mixed")[t].correct for t in results.tasks_of("harmless")])),
        fmt_estimate(group_mean([results.evaluation("mixed")[t].correct for t in results.tasks_of("helpful")])),
        "",
    ]]
    sizes = results.neurons["set_sizes"]
    for ablation in ("shared", "harmless_only", "helpful_only", "random_shared"):
        size = sizes.get(ablation, sizes["shared"])
        rows.append([
            f"− {ablation}",
            fmt_estimate(ablation_delta(results, "mixed", ablation, "harmless")),
            fmt_estimate(ablation_delta(results, "mixed", ablation, "helpful")),
            size,
        ])
    return tabulate(rows, headers=["setting", "harmless tasks", "helpful tasks", "neurons"], tablefmt="github")


def neuron_table(results: StudyResults) -> str:
    """Figure 4 and the overlap numbers: set sizes and layer-bucket shares."""
    n = results.neurons
    rows = []
    for name, size in n["set_sizes"].items():
        shares = n["layer_shares"][name]
        rows.append([name, size, f"{shares['early']:.3f}", f"{shares['middle']:.3f}", f"{shares['late']:.3f}"])
    table = tabulate(rows, headers=["set", "neurons", "early", "middle", "late"], tablefmt="github")
    overlap = n["overlap"]
    lines = [
        table,
        "",
        f"- tau = {n['tau']}% of {n['total_neurons']} neurons over {n['num_layers']} layers",
        f"- shared share of N_H: {overlap['shared_of_helpful']:.3f}; of N_S: {overlap['shared_of_harmless']:.3f}; "
        f"of all neurons: {n['set_sizes']['shared'] / n['total_neurons']:.4f}",
        f"- neuron retention of N_HS: {n['neuron_retention']:.3f}",
        "- RMSD chosen vs rejected: " + ", ".join(f"{k} {v:.2e}" for k, v in n["rmsd"].items()),
    ]
    return "\n".join(lines)


def sweep_table(results: StudyResults) -> str:
    rows = [
        [r["objective"], r["method"], f"{r['tau']:g}", f"{r['baseline']:.3f}", f"{r['ablated']:.3f}", f"{r['delta']:+.3f}"]
        for r in results.sweep
    ]
    return tabulate(rows, headers=["RM", "selection", "tau %", "own-group baseline", "ablated", "change"], tablefmt="github")


def unavailable_table(results: StudyResults) -> str:
    rows = [[name, reason] for name, reason in results.unavailable_tasks.items()]
    return tabulate(rows, headers=["task", "reason"], tablefmt="github") if rows else "every task of the profile was available"


def timing_table(results: StudyResults) -> str:
    rows = [[k, f"{v:.1f}"] for k, v in results.timings.items() if k.startswith("stage/")]
    return tabulate(rows, headers=["stage", "seconds"], tablefmt="github")


def study_report(results: StudyResults) -> str:
    """Render every paper-style table of one study as one Markdown document."""
    sections = [
        (f"Study {results.label} (profile {results.profile})", None),
        ("Training check: held-out HH-RLHF accuracy [95% CI]", heldout_table(results)),
        ("Helpful-oriented tasks: accuracy (Table 13)", accuracy_table(results, "helpful")),
        ("Harmless-oriented tasks: accuracy (Table 14)", accuracy_table(results, "harmless")),
        ("Length control: share of items where each scorer prefers the longer response", prefers_longer_table(results)),
        ("Behavioural retention (Table 1)", retention_table(results)),
        ("Ablation on helpful-oriented tasks (Table 2)", ablation_table(results, "helpful")),
        ("Ablation on harmless-oriented tasks (Table 3)", ablation_table(results, "harmless")),
        ("Mixed RM: ablating shared / single-objective neurons (Table 4)", partition_table(results)),
        ("Oriented neurons: sizes, layer shares (Figure 4), overlap", neuron_table(results)),
        ("Selection methods: own-group accuracy change (Figure 5)", sweep_table(results)),
        ("Tasks left out: not available offline", unavailable_table(results)),
        ("Wall time per stage", timing_table(results)),
    ]
    parts = []
    for i, (title, body) in enumerate(sections):
        parts.append(("# " if i == 0 else "## ") + title)
        if body:
            parts.append(body)
    return "\n\n".join(parts) + "\n"
