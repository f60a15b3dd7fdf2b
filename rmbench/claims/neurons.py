"""Neuron-level claims: late layers, ablation asymmetry, shared dominance, small RMSD and
magnitude selection beating the baselines."""

from __future__ import annotations

from rmbench.claims.base import (
    DOES_NOT_HOLD,
    HOLDS,
    INCONCLUSIVE,
    ClaimResult,
    per_task_correct,
    training_check,
)
from rmbench.claims.stats import Estimate, fmt_estimate, group_difference, no_interval
from rmbench.pipeline.results import StudyResults

# "About half" of N_H and N_S shared, as a range.
SHARED_SHARE_RANGE = (0.3, 0.7)

# RMSD counts as small when it is below this share of the typical activation size (the RMS of
# the RM's mean activations over all neurons).
SMALL_RMSD_RELATIVE = 0.1


def ablation_delta(results: StudyResults, model: str, ablation: str, orientation: str) -> Estimate:
    """Change in a model's group accuracy when a neuron set is ablated (ablated minus baseline)."""
    tasks = results.tasks_of(orientation)
    available = results.evaluation(model, ablation)
    tasks = [t for t in tasks if t in available]
    return group_difference(
        per_task_correct(results, model, ablation, tasks), per_task_correct(results, model, "none", tasks)
    )


def late_layers(results: StudyResults) -> ClaimResult:
    """Oriented neurons concentrate in the late third of the layers."""
    shares = results.neurons["layer_shares"]
    metrics = {}
    for set_name in ("N_H", "N_S", "N_HS"):
        for bucket in ("early", "middle", "late"):
            metrics[f"{set_name}_{bucket}_share"] = no_interval(float(shares[set_name][bucket]))

    control = training_check(results, ("helpful", "harmless", "mixed"))
    if control:
        return ClaimResult("late-layers", results.label, metrics, INCONCLUSIVE, control)

    failing = [
        s for s in ("N_H", "N_S", "N_HS")
        if not shares[s]["late"] > max(shares[s]["early"], shares[s]["middle"])
    ]
    holds = not failing
    reason = (
        "the late bucket holds the largest share of every set"
        if holds
        else f"the late bucket is not the largest for {', '.join(failing)}"
    )
    return ClaimResult("late-layers", results.label, metrics, HOLDS if holds else DOES_NOT_HOLD, reason)


def ablation_asymmetry(results: StudyResults) -> ClaimResult:
    """Ablating a single RM's own oriented neurons hurts its own objective and spares or helps the other."""
    metrics = {
        "helpful_rm_ablate_N_H_on_helpful_tasks": ablation_delta(results, "helpful", "N_H", "helpful"),
        "helpful_rm_ablate_N_H_on_harmless_tasks": ablation_delta(results, "helpful", "N_H", "harmless"),
        "harmless_rm_ablate_N_S_on_harmless_tasks": ablation_delta(results, "harmless", "N_S", "harmless"),
        "harmless_rm_ablate_N_S_on_helpful_tasks": ablation_delta(results, "harmless", "N_S", "helpful"),
        "mixed_rm_ablate_N_HS_on_helpful_tasks": ablation_delta(results, "mixed", "N_HS", "helpful"),
        "mixed_rm_ablate_N_HS_on_harmless_tasks": ablation_delta(results, "mixed", "N_HS", "harmless"),
    }
    paper = {
        "helpful_rm_ablate_N_H_on_helpful_tasks": -0.07,
        "helpful_rm_ablate_N_H_on_harmless_tasks": 0.05,
        "harmless_rm_ablate_N_S_on_harmless_tasks": -0.12,
    }
    control = training_check(results, ("helpful", "harmless"))
    if control:
        return ClaimResult("ablation-asymmetry", results.label, metrics, INCONCLUSIVE, control, paper)

    checks = []
    for rm, own_key, other_key in (
        ("helpful", "helpful_rm_ablate_N_H_on_helpful_tasks", "helpful_rm_ablate_N_H_on_harmless_tasks"),
        ("harmless", "harmless_rm_ablate_N_S_on_harmless_tasks", "harmless_rm_ablate_N_S_on_helpful_tasks"),
    ):
        own, other = metrics[own_key], metrics[other_key]
        # Hurt: the whole interval of the own-group change lies below 0. Spared or helped: the
        # other group's interval reaches 0 or above.
        checks.append((rm, own, other, own.high < 0 and other.high >= 0))
    holds = all(ok for *_, ok in checks)
    reason = "; ".join(
        f"{rm} RM: own {fmt_estimate(own)}, other {fmt_estimate(other)}" for rm, own, other, _ in checks
    ) + "; each own interval must lie below 0 and each other interval must reach 0"
    return ClaimResult("ablation-asymmetry", results.label, metrics, HOLDS if holds else DOES_NOT_HOLD, reason, paper)


def shared_dominance(results: StudyResults) -> ClaimResult:
    """About half of N_H and N_S are shared, and ablating the shared set in the mixed RM hurts
    more than ablating the helpful-only or harmless-only sets or a size-matched random set."""
    overlap = results.neurons["overlap"]
    sizes = results.neurons["set_sizes"]
    metrics = {
        "shared_share_of_N_H": no_interval(float(overlap["shared_of_helpful"])),
        "shared_share_of_N_S": no_interval(float(overlap["shared_of_harmless"])),
        "shared_share_of_all_neurons": no_interval(sizes["shared"] / results.neurons["total_neurons"]),
        "neuron_retention_N_HS": no_interval(float(results.neurons["neuron_retention"])),
    }
    for ablation in ("shared", "helpful_only", "harmless_only", "random_shared"):
        for orientation in ("harmless", "helpful"):
            metrics[f"ablate_{ablation}_on_{orientation}_tasks"] = ablation_delta(
                results, "mixed", ablation, orientation
            )
    paper = {
        "shared_share_of_N_H": 0.5,
        "shared_share_of_all_neurons": 0.0475,
        "neuron_retention_N_HS": 0.55,
        "ablate_shared_on_harmless_tasks": -0.10,
        "ablate_shared_on_helpful_tasks": -0.044,
        "ablate_harmless_only_on_harmless_tasks": -0.0118,
        "ablate_harmless_only_on_helpful_tasks": -0.0076,
        "ablate_helpful_only_on_harmless_tasks": 0.0,
        "ablate_helpful_only_on_helpful_tasks": -0.0083,
    }
    control = training_check(results, ("helpful", "harmless", "mixed"))
    if control:
        return ClaimResult("shared-dominance", results.label, metrics, INCONCLUSIVE, control, paper)

    about_half = all(
        SHARED_SHARE_RANGE[0] <= metrics[name].value <= SHARED_SHARE_RANGE[1]
        for name in ("shared_share_of_N_H", "shared_share_of_N_S")
    )
    worst = []
    for group in ("harmless", "helpful"):
        shared = metrics[f"ablate_shared_on_{group}_tasks"].value
        others = [metrics[f"ablate_{a}_on_{group}_tasks"].value for a in ("helpful_only", "harmless_only", "random_shared")]
        worst.append(shared < min(others))
    holds = about_half and all(worst)
    reason = (
        f"shared share of N_H {metrics['shared_share_of_N_H'].value:.3f} and of N_S "
        f"{metrics['shared_share_of_N_S'].value:.3f} (must lie in {SHARED_SHARE_RANGE}); ablating the shared set "
        f"hurts most on harmless tasks: {worst[0]}, on helpful tasks: {worst[1]} "
        "(compared with helpful-only, harmless-only and a size-matched random set)"
    )
    return ClaimResult("shared-dominance", results.label, metrics, HOLDS if holds else DOES_NOT_HOLD, reason, paper)


def small_rmsd(results: StudyResults) -> ClaimResult:
    """Chosen and rejected inputs activate nearly the same neurons."""
    rmsd = results.neurons["rmsd"]
    scale = results.neurons["activation_scale"]
    metrics = {}
    for rm in ("helpful", "harmless", "mixed"):
        metrics[f"rmsd_{rm}_rm"] = no_interval(float(rmsd[rm]))
        metrics[f"relative_rmsd_{rm}_rm"] = no_interval(float(rmsd[rm]) / float(scale[rm]))
    paper = {"rmsd_helpful_rm": 2.6e-3, "rmsd_harmless_rm": 8.2e-3, "rmsd_mixed_rm": 2.3e-3}
    control = training_check(results, ("helpful", "harmless", "mixed"))
    if control:
        return ClaimResult("small-rmsd", results.label, metrics, INCONCLUSIVE, control, paper)

    relative = [metrics[f"relative_rmsd_{rm}_rm"].value for rm in ("helpful", "harmless", "mixed")]
    holds = all(v < SMALL_RMSD_RELATIVE for v in relative)
    reason = (
        "RMSD relative to the RMS mean activation: "
        + ", ".join(f"{v:.4f}" for v in relative)
        + f"; each must be below {SMALL_RMSD_RELATIVE}"
    )
    return ClaimResult("small-rmsd", results.label, metrics, HOLDS if holds else DOES_NOT_HOLD, reason, paper)


def magnitude_beats_baselines(results: StudyResults, tau: float | None = None) -> ClaimResult:
    """Magnitude-selected neurons matter more than change-selected or random ones at equal tau."""
    tau = results.neurons["tau"] if tau is None else tau
    metrics = {}
    for objective in ("helpful", "harmless"):
        for method in ("magnitude", "change", "random"):
            key = f"{method}@{tau:g}"
            metrics[f"{objective}_rm_{method}_delta"] = ablation_delta(results, objective, key, objective)
    control = training_check(results, ("helpful", "harmless"))
    if control:
        return ClaimResult("magnitude-beats-baselines", results.label, metrics, INCONCLUSIVE, control)

    per_rm = []
    for objective in ("helpful", "harmless"):
        magnitude, change, random = (metrics[f"{objective}_rm_{m}_delta"].value for m in ("magnitude", "change", "random"))
        per_rm.append((objective, magnitude, change, random, magnitude < change and magnitude < random))
    holds = all(ok for *_, ok in per_rm)
    reason = "; ".join(
        f"{objective} RM own-group change at tau={tau:g}: magnitude {m:+.3f}, change {c:+.3f}, random {r:+.3f}"
        for objective, m, c, r, _ in per_rm
    ) + "; magnitude must be the most negative for each RM"
    return ClaimResult(
        "magnitude-beats-baselines", results.label, metrics, HOLDS if holds else DOES_NOT_HOLD, reason
    )
