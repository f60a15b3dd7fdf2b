"""Write the report directory: verdict tables (Markdown and JSON), per-study tables and plots."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from rmbench.pipeline.results import StudyResults
from rmbench.report.plots import write_plots
from rmbench.report.tables import study_report
from rmbench.report.verdicts import summary_table, verdict_table

logger = logging.getLogger(__name__)


def write_study_report(results: StudyResults, report_dir: Path) -> Path:
    """Write `<report_dir>/<backbone>-seed<k>/report.md` with every paper-style table and its plots."""
    out = Path(report_dir) / f"{results.backbone}-seed{results.seed}".replace("/", "_")
    out.mkdir(parents=True, exist_ok=True)
    plots = write_plots(results, out)
    text = study_report(results)
    text += "\n## Plots\n\n" + "\n".join(f"![{p.stem}]({p.name})" for p in plots) + "\n"
    path = out / "report.md"
    path.write_text(text)
    results.save(out / "results.json")
    return path


def write_session_report(claim_records: list[dict], golden: dict, report_dir: Path) -> str:
    """Write verdicts.md / verdicts.json and every study's report; return the summary table."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    summary = summary_table(claim_records)
    full = verdict_table(claim_records, golden)
    (report_dir / "verdicts.md").write_text(
        "# Claim verdicts\n\n" + summary + "\n\n## Metrics against golden ranges\n\n" + full + "\n"
    )
    (report_dir / "verdicts.json").write_text(json.dumps(claim_records, indent=2))

    for path in sorted((report_dir / "studies").glob("*.json")):
        try:
            write_study_report(StudyResults.load(path), report_dir)
        except (KeyError, ValueError) as exc:
            logger.warning("could not write the tables of %s: %s", path, exc)
    return summary
