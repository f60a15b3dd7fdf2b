"""PNG plots of a study: reward densities (Figure 3), layer shares (Figure 4), tau sweep (Figure 5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rmbench.claims.behaviour import correct_set
from rmbench.metrics.compression import plot_reward_kde
from rmbench.pipeline.results import StudyResults


def plot_compression(results: StudyResults, out_dir: Path) -> list[Path]:
    """KDE of rewards on items both a single RM and the mixed RM get right, one PNG per single RM."""
    paths = []
    for single in ("helpful", "harmless"):
        rewards = {f"{single} RM": [], "mixed RM": []}
        for task in results.tasks:
            ev_single = results.evaluation(single)[task]
            ev_mixed = results.evaluation("mixed")[task]
            both = correct_set(ev_single) & correct_set(ev_mixed)
            for label, ev in ((f"{single} RM", ev_single), ("mixed RM", ev_mixed)):
                rewards[label].append(np.hstack([ev.chosen, ev.rejected])[both].ravel())
        rewards = {k: np.concatenate(v) if v else np.zeros(0) for k, v in rewards.items()}
        path = out_dir / f"compression-{single}-vs-mixed.png"
        plot_reward_kde(rewards, path, title=f"{results.label}: rewards where both are right")
        paths.append(path)
    return paths


def plot_layer_shares(results: StudyResults, out_dir: Path) -> Path:
    from matplotlib.figure import Figure

    sets = ("N_H", "N_S", "N_HS", "shared")
    buckets = ("early", "middle", "late")
    shares = results.neurons["layer_shares"]
    figure = Figure(figsize=(6, 4))
    axis = figure.subplots()
    width = 0.2
    for i, name in enumerate(sets):
        axis.bar(np.arange(3) + i * width, [shares[name][b] for b in buckets], width, label=name)
    axis.set_xticks(np.arange(3) + 1.5 * width, buckets)
    axis.set_ylabel("share of the set")
    axis.set_title(f"{results.label}: oriented neurons by layer third")
    axis.legend()
    path = out_dir / "layer-shares.png"
    figure.savefig(path, dpi=120, bbox_inches="tight")
    return path


def plot_sweep(results: StudyResults, out_dir: Path) -> Path | None:
    if not results.sweep:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4))
    axes = figure.subplots(1, 2, sharey=True)
    for axis, objective in zip(axes, ("helpful", "harmless")):
        for method in ("magnitude", "change", "random"):
            rows = sorted((r for r in results.sweep if r["objective"] == objective and r["method"] == method),
                          key=lambda r: r["tau"])
            if rows:
                axis.plot([r["tau"] for r in rows], [r["delta"] for r in rows], marker="o", label=method)
        axis.axhline(0, color="grey", linewidth=0.5)
        axis.set_xlabel("tau (% of neurons ablated)")
        axis.set_title(f"{objective} RM, own tasks")
    axes[0].set_ylabel("accuracy change")
    axes[0].legend()
    path = out_dir / "tau-sweep.png"
    figure.savefig(path, dpi=120, bbox_inches="tight")
    return path


def write_plots(results: StudyResults, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = plot_compression(results, out_dir)
    paths.append(plot_layer_shares(results, out_dir))
    sweep = plot_sweep(results, out_dir)
    if sweep:
        paths.append(sweep)
    return paths
