"""Ablation sweep over tau comparing magnitude, change-based and random neuron selection."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rmbench.neurons.importance import random_importance
from rmbench.neurons.selection import select_top

DEFAULT_TAUS = (1, 5, 10, 20)
METHOD_ORDER = ("magnitude", "change", "random")


@dataclass(frozen=True)
class SweepRow:
    """Group accuracies after ablating one method's top-tau neurons."""

    method: str  # "magnitude", "change" or "random"
    tau: float  # percent of all neurons
    seed: int | None  # RNG seed of a random selection; None for the other methods
    n_selected: int
    accuracy: dict[str, float]  # group -> accuracy under the ablation
    baseline: dict[str, float]  # group -> accuracy without ablation

    @property
    def delta(self) -> dict[str, float]:
        """Accuracy change per group caused by the ablation (negative: the ablation hurts)."""
        return {group: self.accuracy[group] - self.baseline[group] for group in self.accuracy}


def tau_sweep(
    evaluate: Callable[[np.ndarray], Mapping[str, float]],
    magnitude: np.ndarray,
    change: np.ndarray | None = None,
    *,
    taus: Sequence[float] = DEFAULT_TAUS,
    random_seeds: Sequence[int] = (0,),
    baseline: Mapping[str, float] | None = None,
) -> list[SweepRow]:
    """Ablate the top-tau neurons of each scoring and record the group accuracies.

    `evaluate(mask)` scores the model with the neurons of a bool mask [num_layers, d_mlp] ablated
    and returns {group: accuracy}; the caller owns scoring and its caching. It is called once
    with an empty mask for the baseline unless `baseline` is given. Random selection ranks
    `random_importance(shape, seed)` for each seed, so it picks as many neurons as the other
    methods at each tau. `change` may be None to leave that method out.
    """
    magnitude = np.asarray(magnitude)
    scorings: dict[str, np.ndarray] = {"magnitude": magnitude}
    if change is not None:
        change = np.asarray(change)
        if change.shape != magnitude.shape:
            raise ValueError(f"change scores {change.shape} and magnitude scores {magnitude.shape} differ in shape")
        scorings["change"] = change
    if not taus:
        raise ValueError("taus is empty; pass at least one tau in percent")

    if baseline is None:
        baseline = evaluate(np.zeros(magnitude.shape, dtype=bool))
    baseline = dict(baseline)

    rows = []
    for tau in taus:
        for method, scores in scorings.items():
            rows.append(_run(evaluate, method, tau, None, select_top(scores, tau), baseline))
        for seed in random_seeds:
            mask = select_top(random_importance(magnitude.shape, seed), tau)
            rows.append(_run(evaluate, "random", tau, seed, mask, baseline))
    return rows


def _run(evaluate, method, tau, seed, mask, baseline) -> SweepRow:
    accuracy = dict(evaluate(mask))
    missing = set(baseline) - set(accuracy)
    if missing:
        raise ValueError(f"evaluate returned no accuracy for groups {sorted(missing)} ({method}, tau={tau})")
    return SweepRow(
        method=method,
        tau=float(tau),
        seed=seed,
        n_selected=int(mask.sum()),
        accuracy={group: float(accuracy[group]) for group in baseline},
        baseline=baseline,
    )


def summarise(rows: Sequence[SweepRow]) -> list[dict]:
    """Return one record per (method, tau), with random seeds averaged, sorted by tau then method.

    Each record has method, tau, n_selected, n_seeds, and ``acc_<group>`` and ``delta_<group>``
    per group, plus ``delta_<group>_min`` and ``delta_<group>_max`` over seeds.
    """
    grouped: dict[tuple[str, float], list[SweepRow]] = {}
    for row in rows:
        grouped.setdefault((row.method, row.tau), []).append(row)

    def order(key):
        method, tau = key
        rank = METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)
        return (tau, rank, method)

    records = []
    for method, tau in sorted(grouped, key=order):
        members = grouped[(method, tau)]
        record = {"method": method, "tau": tau, "n_selected": members[0].n_selected, "n_seeds": len(members)}
        for group in members[0].accuracy:
            deltas = [row.delta[group] for row in members]
            record[f"acc_{group}"] = float(np.mean([row.accuracy[group] for row in members]))
            record[f"delta_{group}"] = float(np.mean(deltas))
            record[f"delta_{group}_min"] = float(np.min(deltas))
            record[f"delta_{group}_max"] = float(np.max(deltas))
        records.append(record)
    return records


def write_sweep_table(rows: Sequence[SweepRow], path_md: str | Path) -> Path:
    """Write a Markdown table of accuracy and accuracy change per group for each method and tau."""
    from tabulate import tabulate

    records = summarise(rows)
    if not records:
        raise ValueError("no sweep rows to write")
    groups = list(rows[0].accuracy)
    headers = ["method", "tau %", "neurons", "seeds"]
    for group in groups:
        headers += [f"{group} acc", f"{group} Δ"]

    table = []
    for record in records:
        line = [record["method"], f"{record['tau']:g}", record["n_selected"], record["n_seeds"]]
        for group in groups:
            line += [f"{record[f'acc_{group}']:.4f}", f"{record[f'delta_{group}']:+.4f}"]
        table.append(line)

    baseline = ", ".join(f"{group} {value:.4f}" for group, value in rows[0].baseline.items())
    text = (
        f"Accuracy after ablating the top-tau neurons of each scoring; Δ is the change from the "
        f"unablated model ({baseline}). Random rows average {records[-1]['n_seeds']} seed(s).\n\n"
        + tabulate(table, headers=headers, tablefmt="github")
        + "\n"
    )
    path = Path(path_md)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def plot_sweep(rows: Sequence[SweepRow], path_png: str | Path) -> Path:
    """Plot the accuracy change against tau, one panel per group and one line per method.

    Random selection is drawn as its mean over seeds with a band from the minimum to the maximum.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = summarise(rows)
    if not records:
        raise ValueError("no sweep rows to plot")
    groups = list(rows[0].accuracy)
    methods = list(dict.fromkeys(record["method"] for record in records))

    figure, axes = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 3.6), squeeze=False)
    for axis, group in zip(axes[0], groups):
        for method in methods:
            points = [record for record in records if record["method"] == method]
            taus = [record["tau"] for record in points]
            deltas = [100 * record[f"delta_{group}"] for record in points]
            axis.plot(taus, deltas, marker="o", label=method)
            if any(record["n_seeds"] > 1 for record in points):
                axis.fill_between(
                    taus,
                    [100 * record[f"delta_{group}_min"] for record in points],
                    [100 * record[f"delta_{group}_max"] for record in points],
                    alpha=0.2,
                )
        axis.axhline(0.0, color="grey", linewidth=0.8)
        axis.set_title(f"{group} tasks")
        axis.set_xlabel("tau (% of neurons ablated)")
        axis.set_ylabel("accuracy change (points)")
    axes[0][0].legend()
    figure.tight_layout()

    path = Path(path_png)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
