"""Golden files: the recorded range of every claim metric, per profile and backbone.

`golden/<profile>.yaml` holds, per claim and backbone, each metric's expected range, the paper's
value where one exists, the measured mean, standard deviation and seed count behind the range,
whether the claim reproduces, the verdicts, and the environment it was recorded in.

Ranges are never edited by hand. `rmbench golden record` measures every seed of a profile and
sets each range to mean ± half-width, with

    half-width = max(3 × std over seeds, mean 95% bootstrap half-width over seeds,
                     2% of |mean|, 0.005)

The bootstrap term carries the item-sampling noise of a single seed; the last two terms only
absorb floating-point differences between machines for metrics that have no interval (layer
shares, RMSD).
"""

from __future__ import annotations

import datetime as dt
import logging
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import yaml

from rmbench.claims.base import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, ClaimResult

logger = logging.getLogger(__name__)

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"
RANGE_RULE = (
    "mean ± max(3·std over seeds, mean 95% bootstrap half-width, 0.02·|mean|, 0.005)"
)
VERSIONED_PACKAGES = ("torch", "transformers", "trl", "datasets", "numpy", "rmbench")


class GoldenEntryMissing(LookupError):
    pass


@dataclass
class MetricCheck:
    metric: str
    measured: float
    low: float
    high: float
    paper: float | None

    @property
    def ok(self) -> bool:
        return bool(self.low <= self.measured <= self.high)


def golden_path(profile: str, golden_dir: Path | None = None) -> Path:
    return Path(golden_dir or GOLDEN_DIR) / f"{profile}.yaml"


def record_command(profile: str) -> str:
    return f"rmbench golden record --profile {profile}"


def load_golden(profile: str, golden_dir: Path | None = None) -> dict:
    path = golden_path(profile, golden_dir)
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text()) or {}


def golden_entry(golden: dict, claim: str, backbone: str, profile: str) -> dict:
    """Return the recorded entry of a claim and backbone, or raise with the command that records it."""
    entry = golden.get("claims", {}).get(claim, {}).get(backbone)
    if entry is None:
        raise GoldenEntryMissing(
            f"no golden entry for claim '{claim}' on backbone '{backbone}' in profile '{profile}'; "
            f"record one with: {record_command(profile)}"
        )
    return entry


def check_metrics(result: ClaimResult, entry: dict) -> list[MetricCheck]:
    checks = []
    for name, recorded in entry["metrics"].items():
        measured = result.metrics.get(name)
        value = float("nan") if measured is None else measured.value
        low, high = recorded["range"]
        checks.append(MetricCheck(name, value, float(low), float(high), recorded.get("paper")))
    return checks


def format_checks(checks: list[MetricCheck]) -> str:
    """Render expected versus measured values as a table, failing rows first."""
    from tabulate import tabulate

    rows = [
        ["FAIL" if not c.ok else "ok", c.metric, f"{c.measured:.4g}", f"[{c.low:.4g}, {c.high:.4g}]",
         "" if c.paper is None else f"{c.paper:.4g}"]
        for c in sorted(checks, key=lambda c: c.ok)
    ]
    return tabulate(rows, headers=["", "metric", "measured", "golden range", "paper"], tablefmt="github")


# ---------------------------------------------------------------------- recording


def _half_width(values: list[float], half_widths: list[float]) -> float:
    mean = float(np.mean(values))
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    ci = float(np.nanmean(half_widths)) if half_widths and not np.all(np.isnan(half_widths)) else 0.0
    return max(3 * std, ci, 0.02 * abs(mean), 0.005)


def _environment() -> dict:
    versions = {}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "packages": versions,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {platform.system()}",
        "git_commit": git_commit(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=GOLDEN_DIR.parent, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def working_tree_dirty() -> bool:
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=GOLDEN_DIR.parent, capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return False
    return bool(out.strip())


def build_golden(profile: str, results: list[ClaimResult], backbone_of: dict[str, str]) -> dict:
    """Aggregate per-seed claim results into golden entries.

    `backbone_of` maps a result's model label ("<backbone>/seed<k>") to its backbone label.
    """
    grouped: dict[tuple[str, str], list[ClaimResult]] = {}
    for result in results:
        grouped.setdefault((result.claim, backbone_of[result.model]), []).append(result)

    claims: dict[str, dict] = {}
    for (claim, backbone), per_seed in sorted(grouped.items()):
        verdicts = {r.model.rsplit("/", 1)[-1]: r.verdict for r in per_seed}
        conclusive = [v for v in verdicts.values() if v != INCONCLUSIVE]
        if not conclusive:
            reproduces = None
        else:
            reproduces = all(v == HOLDS for v in conclusive)
        metrics = {}
        for name in per_seed[0].metrics:
            values = [r.metrics[name].value for r in per_seed if not np.isnan(r.metrics[name].value)]
            if not values:
                continue
            half_widths = [
                (r.metrics[name].high - r.metrics[name].low) / 2 for r in per_seed
            ]
            mean = float(np.mean(values))
            half = _half_width(values, half_widths)
            metrics[name] = {
                "range": [round(mean - half, 6), round(mean + half, 6)],
                "paper": per_seed[0].paper.get(name),
                "mean": round(mean, 6),
                "std": round(float(np.std(values, ddof=1)) if len(values) > 1 else 0.0, 6),
                "n_seeds": len(values),
            }
        claims.setdefault(claim, {})[backbone] = {
            "reproduces": reproduces,
            "verdict": _overall_verdict(list(verdicts.values())),
            "verdicts": verdicts,
            "reasons": {r.model.rsplit("/", 1)[-1]: r.reason for r in per_seed},
            "metrics": metrics,
        }
    return {
        "profile": profile,
        "range_rule": RANGE_RULE,
        "environment": _environment(),
        "claims": claims,
    }


def _overall_verdict(verdicts: list[str]) -> str:
    if all(v == INCONCLUSIVE for v in verdicts):
        return INCONCLUSIVE
    if all(v == HOLDS for v in verdicts if v != INCONCLUSIVE):
        return HOLDS
    return DOES_NOT_HOLD


def write_golden(golden: dict, golden_dir: Path | None = None) -> Path:
    path = golden_path(golden["profile"], golden_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Recorded by `{record_command(golden['profile'])}`; do not edit ranges by hand.\n"
        f"# Range rule: {RANGE_RULE}\n"
    )
    path.write_text(header + yaml.safe_dump(golden, sort_keys=False, allow_unicode=True, width=100))
    write_quarantine(golden_dir)
    return path


def write_quarantine(golden_dir: Path | None = None) -> Path:
    """Rewrite golden/QUARANTINE.md: every claim recorded as not reproducing or inconclusive."""
    golden_dir = Path(golden_dir or GOLDEN_DIR)
    rows = []
    for path in sorted(golden_dir.glob("*.yaml")):
        golden = yaml.safe_load(path.read_text()) or {}
        for claim, per_backbone in golden.get("claims", {}).items():
            for backbone, entry in per_backbone.items():
                if entry["reproduces"] is True:
                    continue
                reason = "; ".join(f"{seed}: {r}" for seed, r in entry.get("reasons", {}).items())
                if entry["reproduces"] is False:
                    status = "strict xfail"
                    exit_condition = "the claim holds on every seed, so the strict xfail fails"
                else:
                    status = "skipped (inconclusive)"
                    exit_condition = "the deciding control passes, for example the RM rises above chance on held-out pairs"
                rows.append(
                    f"| {golden['profile']} | {claim} | {backbone} | {status} | {reason} | "
                    f"{exit_condition}; then rerecord with `{record_command(golden['profile'])}` |"
                )
    text = (
        "# Quarantine\n\n"
        "Claims that do not reproduce (strict xfail) or are inconclusive (skipped with the deciding\n"
        "control) at a profile's scale. Generated from the golden files by `rmbench golden record`.\n\n"
        "| profile | claim | backbone | status | measured reason | exit condition |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    path = golden_dir / "QUARANTINE.md"
    path.write_text(text)
    return path
