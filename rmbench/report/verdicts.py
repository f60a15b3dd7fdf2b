"""The verdict table: claim, model, metric, value with CI, golden range, paper value, verdict."""

from __future__ import annotations

from tabulate import tabulate


def _fmt(metric: dict) -> str:
    value, low, high = metric.get("value"), metric.get("low"), metric.get("high")
    if value is None:
        return "n/a"
    if low is None or high is None:
        return f"{value:.4g}"
    return f"{value:.4g} [{low:.3g}, {high:.3g}]"


def verdict_rows(claim_records: list[dict], golden: dict | None = None) -> list[list[str]]:
    """Build one row per claim metric from `ClaimResult.to_json()` dicts."""
    golden_claims = (golden or {}).get("claims", {})
    rows = []
    for record in sorted(claim_records, key=lambda r: (r["claim"], r["model"])):
        backbone = record["model"].rsplit("/", 1)[0]
        recorded = golden_claims.get(record["claim"], {}).get(backbone, {}).get("metrics", {})
        for i, (name, metric) in enumerate(record["metrics"].items()):
            golden_range = recorded.get(name, {}).get("range")
            paper = record.get("paper", {}).get(name)
            value = metric.get("value")
            if golden_range is None or value is None:
                check = ""
            else:
                check = "ok" if golden_range[0] <= value <= golden_range[1] else "OUT OF RANGE"
            rows.append([
                record["claim"] if i == 0 else "",
                record["model"] if i == 0 else "",
                name,
                _fmt(metric),
                "missing" if golden_range is None else f"[{golden_range[0]:.4g}, {golden_range[1]:.4g}]",
                check,
                "" if paper is None else f"{paper:.4g}",
                record["verdict"] if i == 0 else "",
            ])
    return rows


def verdict_table(claim_records: list[dict], golden: dict | None = None, tablefmt: str = "github") -> str:
    headers = ["claim", "model", "metric", "value [95% CI]", "golden range", "check", "paper", "verdict"]
    return tabulate(verdict_rows(claim_records, golden), headers=headers, tablefmt=tablefmt)


def summary_table(claim_records: list[dict], tablefmt: str = "github") -> str:
    """Render one row per claim and model: the verdict and its reason (direction check or deciding control)."""
    rows = [
        [r["claim"], r["model"], r["verdict"], r["reason"]]
        for r in sorted(claim_records, key=lambda r: (r["claim"], r["model"]))
    ]
    return tabulate(rows, headers=["claim", "model", "verdict", "reason"], tablefmt=tablefmt)
