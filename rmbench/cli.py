"""The `rmbench` command line.

    rmbench tasks                      list every evaluation task, its size, or why it is unavailable
    rmbench backbones                  list the known backbones
    rmbench train --profile P          train (or load from the cache) the profile's RMs
    rmbench cache list | clear         inspect or empty the model cache
    rmbench evaluate --profile P       accuracy per task (Tables 13/14) and retention (Table 1)
    rmbench neurons --profile P        ablation tables (Tables 2-4), layer shares, overlap
    rmbench verify --profile P         everything above, every claim, the report and the verdicts
    rmbench golden record --profile P  record golden ranges from measured runs
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

logger = logging.getLogger("rmbench")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("httpx", "urllib3", "filelock", "datasets", "fsspec"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="cpu", help="tiny, cpu, paper or a YAML path (default: cpu)")
    parser.add_argument("--backbone", action="append", help="restrict to this backbone name or label (repeatable)")
    parser.add_argument("--seed", action="append", type=int, help="restrict to this seed (repeatable)")
    parser.add_argument("--data-dir", help="local data directory (default: $RMBENCH_DATA_DIR, else the hub)")
    parser.add_argument("--cache-dir", help="cache directory (default: $RMBENCH_CACHE or ~/.cache/rmbench)")
    parser.add_argument("--report-dir", help="report directory (default: reports/<profile>)")
    parser.add_argument("--rm-manifest", help="already trained RMs to check instead of training (see rmbench.manifest)")


def _apply_env(args) -> None:
    if getattr(args, "data_dir", None):
        os.environ["RMBENCH_DATA_DIR"] = str(Path(args.data_dir).resolve())
    if getattr(args, "cache_dir", None):
        os.environ["RMBENCH_CACHE"] = str(Path(args.cache_dir).resolve())


def _profile(args):
    from rmbench.profiles import load_profile

    return load_profile(args.profile).with_overrides(backbones=args.backbone, seeds=args.seed)


def _studies(args):
    from rmbench.pipeline.study import Study
    from rmbench.profiles import BackboneSpec

    profile = _profile(args)
    data_dir = os.environ.get("RMBENCH_DATA_DIR")
    if args.rm_manifest:
        from rmbench.manifest import read_rm_manifest

        for label, seed, rm_paths in read_rm_manifest(args.rm_manifest):
            backbone = next((b for b in profile.backbones if b.label == label), None) or BackboneSpec.from_label(label)
            yield Study(profile, backbone, seed, data_dir=data_dir, rm_paths=rm_paths)
        return
    for backbone in profile.backbones:
        for seed in profile.seeds:
            yield Study(profile, backbone, seed, data_dir=data_dir)


def _report_dir(args) -> Path:
    return Path(args.report_dir or os.environ.get("RMBENCH_REPORT_DIR") or Path("reports") / _profile(args).name)


# ---------------------------------------------------------------------- commands


def cmd_tasks(args) -> int:
    from rmbench.tasks import task_status
    from rmbench.tasks.listing import format_task_table

    print(format_task_table(task_status()))
    return 0


def cmd_backbones(args) -> int:
    from tabulate import tabulate

    from rmbench.models.adapters import ARCH_LAYOUTS
    from rmbench.models.backbones import BACKBONES

    rows = [[spec.name, spec.source, spec.hub_id or "-", spec.description] for spec in BACKBONES.values()]
    print(tabulate(rows, headers=["name", "source", "hub id", "description"]))
    print("\nsupported architectures for neuron analysis: " + ", ".join(sorted(ARCH_LAYOUTS)))
    print("a profile may keep the first N layers of any of them: name@NL, for example smollm2-135m@6L")
    return 0


def cmd_train(args) -> int:
    profile = _profile(args)
    objectives = args.objective or ["helpful", "harmless", "mixed"]
    for study in _studies(args):
        for objective in objectives:
            start = time.perf_counter()
            path = study.rm_path(objective)
            manifest = study.manifest(objective)
            heldout = manifest.get("heldout", {})
            print(f"{study.label} {objective}: {path} ({time.perf_counter() - start:.0f} s)")
            for name, value in heldout.items():
                print(f"    held-out {name}: {value}")
    logger.info("profile %s: all RMs ready", profile.name)
    return 0


def cmd_cache(args) -> int:
    from rmbench.training.cache import clear_cache, format_cache_table, list_cache

    if args.action == "list":
        print(format_cache_table(list_cache(args.cache_dir)))
    else:
        removed = clear_cache(args.cache_dir)
        print(f"removed {removed} cache entries")
    return 0


def _run_and_report(args, stages, sections) -> list:
    outputs = []
    for study in _studies(args):
        results = study.run(stages)
        for title, render in sections:
            print(f"\n## {title} — {results.label}\n")
            print(render(results))
        outputs.append(results)
    return outputs


def cmd_evaluate(args) -> int:
    from rmbench.pipeline.collect import BEHAVIOUR_STAGES
    from rmbench.report import tables

    _run_and_report(args, BEHAVIOUR_STAGES, [
        ("Training check", tables.heldout_table),
        ("Helpful-oriented tasks (Table 13)", lambda r: tables.accuracy_table(r, "helpful")),
        ("Harmless-oriented tasks (Table 14)", lambda r: tables.accuracy_table(r, "harmless")),
        ("Retention (Table 1)", tables.retention_table),
        ("Share of items where each scorer prefers the longer response", tables.prefers_longer_table),
    ])
    return 0


def cmd_neurons(args) -> int:
    from rmbench.report import tables

    _run_and_report(args, None, [
        ("Ablation, helpful-oriented tasks (Table 2)", lambda r: tables.ablation_table(r, "helpful")),
        ("Ablation, harmless-oriented tasks (Table 3)", lambda r: tables.ablation_table(r, "harmless")),
        ("Mixed RM partitions (Table 4)", tables.partition_table),
        ("Layer shares (Figure 4) and overlap", tables.neuron_table),
        ("Selection methods (Figure 5)", tables.sweep_table),
    ])
    return 0


def cmd_verify(args) -> int:
    from rmbench.claims import HOLDS, evaluate_all
    from rmbench.golden import check_metrics, load_golden
    from rmbench.report.verdicts import verdict_table
    from rmbench.report.writer import write_session_report, write_study_report

    start = time.perf_counter()
    profile = _profile(args)
    report_dir = _report_dir(args)
    golden = load_golden(profile.name)
    records, out_of_range, changed_verdicts = [], 0, []
    for study in _studies(args):
        results = study.run()
        results.save(report_dir / "studies" / f"{profile.name}-{results.label.replace('/', '-')}.json")
        write_study_report(results, report_dir)
        for claim in evaluate_all(results):
            records.append(claim.to_json())
            entry = golden.get("claims", {}).get(claim.claim, {}).get(results.backbone)
            if entry:
                out_of_range += sum(not c.ok for c in check_metrics(claim, entry))
                if entry.get("reproduces") is True and claim.verdict != HOLDS:
                    changed_verdicts.append(f"{claim.claim} on {claim.model}: {claim.verdict} ({claim.reason})")

    summary = write_session_report(records, golden, report_dir)
    print("\n" + verdict_table(records, golden))
    print("\n" + summary)
    print(f"\nreport: {report_dir.resolve()} (wall time {time.perf_counter() - start:.0f} s)")
    if not golden:
        print(f"no golden file for profile '{profile.name}'; record one with: rmbench golden record --profile {profile.name}")
    elif out_of_range or changed_verdicts:
        print(f"{out_of_range} metric(s) outside their golden ranges")
        for line in changed_verdicts:
            print(f"recorded as holding, now: {line}")
        return 1
    return 0


def cmd_golden(args) -> int:
    from rmbench.claims import evaluate_all
    from rmbench.golden import build_golden, working_tree_dirty, write_golden

    if working_tree_dirty():
        print("refusing to record golden ranges from a dirty working tree: commit or stash your changes "
              "first, so the recorded git commit describes the code that produced the numbers", file=sys.stderr)
        return 2
    profile = _profile(args)
    results, backbone_of = [], {}
    for study in _studies(args):
        study_results = study.run()
        for claim in evaluate_all(study_results):
            results.append(claim)
            backbone_of[claim.model] = study_results.backbone
    path = write_golden(build_golden(profile.name, results, backbone_of))
    print(f"wrote {path} from {len(backbone_of)} study run(s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rmbench", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("tasks", help="list every evaluation task and its availability")
    p.add_argument("--data-dir")
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("backbones", help="list the known backbones")
    p.set_defaults(func=cmd_backbones)

    p = sub.add_parser("train", help="train the profile's RMs (or take them from the cache)")
    _add_common(p)
    p.add_argument("--objective", action="append", choices=["helpful", "harmless", "mixed"])
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("cache", help="list or clear the model cache")
    p.add_argument("action", choices=["list", "clear"])
    p.add_argument("--cache-dir")
    p.set_defaults(func=cmd_cache)

    for name, func, text in (
        ("evaluate", cmd_evaluate, "accuracy per task and retention"),
        ("neurons", cmd_neurons, "neuron sets, ablations, layer shares"),
        ("verify", cmd_verify, "the whole study, every claim, the report"),
    ):
        p = sub.add_parser(name, help=text)
        _add_common(p)
        p.set_defaults(func=func)

    golden = sub.add_parser("golden", help="golden files")
    golden_sub = golden.add_subparsers(dest="golden_command", required=True)
    p = golden_sub.add_parser("record", help="measure every seed of a profile and write golden/<profile>.yaml")
    _add_common(p)
    p.set_defaults(func=cmd_golden)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    _apply_env(args)
    if args.verbose:
        return args.func(args)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        # User errors (unknown profile, task or backbone, invalid files) get one line, not a traceback;
        # -v shows the traceback.
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"rmbench: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
