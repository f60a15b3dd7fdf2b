"""Compare rmbench's activation capture with fixed-length padded capture and a plain forward pass.

Three methods run on the same model and preference pairs, each in its own subprocess so that
each peak RSS (``ru_maxrss``) belongs to one method:

- ``rmbench``: `capture_mean_activations` (chosen and rejected in one pass, dynamic right
  padding, length-sorted batches, per-sequence sums reduced inside the hooks).
- ``fixed-1024``: every sequence padded to 1,024 tokens, chosen and rejected inputs in separate
  passes, and hooks that keep the full activations [batch, 1024, d_mlp] of every layer for the
  batch, averaged over non-padding tokens afterwards. rmbench's design notes describe the code
  released with Tanwar and Atanasova, "Understanding helpfulness and harmless tension in reward
  models", as padding this way. This is a reimplementation from that description, not their code.
- ``plain``: the same batches as ``rmbench`` through the same forward call, without hooks.

Both capture methods compute the same magnitude importance (the mean of the chosen token-mean
and the rejected token-mean), and the script checks that they agree within --tolerance in
float32. Defaults: the first 4 layers of the offline SmolLM2-135M-Instruct GGUF backbone and the
first 64 pairs of HH-RLHF harmless-base test from $RMBENCH_DATA_DIR (else ../shared/datasets
beside the repository).

Run: ``python benchmarks/capture_speed.py`` (a few minutes on 1 CPU thread).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPOSITORY.parent / "shared" / "datasets"
METHODS = ("rmbench", "fixed-1024", "plain")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default="smollm2-135m-instruct-gguf", help="rmbench backbone name")
    parser.add_argument("--layers", type=int, default=4, help="transformer layers kept from the backbone")
    parser.add_argument("--pairs", type=int, default=64, help="HH-RLHF pairs, taken in file order")
    parser.add_argument("--subset", default="harmless-base", help="HH-RLHF subset (test split)")
    parser.add_argument("--data-dir", default=None, help="data directory; default $RMBENCH_DATA_DIR, else ../shared/datasets")
    parser.add_argument("--max-length", type=int, default=1024, help="tokens kept per input (left truncation) and the fixed padding length")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per forward pass for rmbench and plain")
    parser.add_argument("--fixed-batch-size", type=int, default=8, help="sequences per forward pass for fixed-1024")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of rmbench and plain; the fastest counts")
    parser.add_argument("--fixed-repeats", type=int, default=1, help="timed runs of fixed-1024")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per method")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="maximum absolute difference between the two captures")
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- worker


def load_inputs(args):
    from rmbench.data import load_hh_subset
    from rmbench.models.backbones import load_backbone

    data_dir = args.data_dir or os.environ.get("RMBENCH_DATA_DIR") or DEFAULT_DATA_DIR
    pairs, _ = load_hh_subset(args.subset, "test", data_dir)
    if len(pairs) < args.pairs:
        raise SystemExit(f"{args.subset} test has {len(pairs)} pairs, fewer than --pairs {args.pairs}")
    model, tokenizer = load_backbone(args.backbone, num_layers=args.layers)
    return model, tokenizer, pairs[: args.pairs]


def run_rmbench(model, tokenizer, pairs, args):
    from rmbench.neurons.capture import capture_mean_activations

    stats = capture_mean_activations(
        model, tokenizer, pairs, max_length=args.max_length, batch_size=args.batch_size, progress=False
    )
    tokens = sum(stats.group_tokens.values())
    return stats.mean_activations, tokens, tokens


def run_plain(model, tokenizer, pairs, args):
    import torch

    from rmbench.neurons.capture import backbone_forward, iter_batches

    tokens = 0
    with torch.inference_mode():
        for batch in iter_batches(tokenizer, pairs, max_length=args.max_length, batch_size=args.batch_size):
            backbone_forward(model, batch.input_ids, batch.attention_mask)
            tokens += batch.n_tokens
    return None, tokens, tokens


def run_fixed_length(model, tokenizer, pairs, args):
    """Pad to max_length, one pass per side, keep full activations per batch, then average."""
    import torch

    from rmbench.data import format_text
    from rmbench.models.adapters import get_adapter

    modules = get_adapter(model).activation_modules
    stored: dict[int, torch.Tensor] = {}
    handles = [
        module.register_forward_hook(
            lambda module, inputs, output, layer=layer: stored.__setitem__(layer, output.detach().clone())
        )  # output: [batch, max_length, d_mlp], kept whole until the batch ends
        for layer, module in enumerate(modules)
    ]
    side_means = []
    real_tokens = padded_tokens = 0
    try:
        with torch.inference_mode():
            for side in ("chosen", "rejected"):
                texts = [format_text(pair.prompt, getattr(pair, side)) for pair in pairs]
                sums = np.zeros((len(modules), get_adapter(model).d_mlp))
                count = 0
                for start in range(0, len(texts), args.fixed_batch_size):
                    batch = tokenizer(
                        texts[start : start + args.fixed_batch_size],
                        padding="max_length",
                        truncation=True,
                        max_length=args.max_length,
                        return_tensors="pt",
                    )
                    model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
                    mask = batch["attention_mask"].bool()  # [batch, max_length]
                    for layer in range(len(modules)):
                        sums[layer] += stored[layer][mask].double().sum(dim=0).numpy()
                    count += int(mask.sum())
                    padded_tokens += mask.numel()
                    stored.clear()
                side_means.append(sums / count)
                real_tokens += count
    finally:
        for handle in handles:
            handle.remove()
    return (side_means[0] + side_means[1]) / 2, real_tokens, padded_tokens


def worker(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    model, tokenizer, pairs = load_inputs(args)
    # Left truncation, as rmbench does, so that both capture methods see the same tokens.
    tokenizer.truncation_side = "left"
    method = {"rmbench": run_rmbench, "plain": run_plain, "fixed-1024": run_fixed_length}[args.worker]
    repeats = args.fixed_repeats if args.worker == "fixed-1024" else args.repeats

    rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    method(model, tokenizer, pairs[:2], args)  # warm-up: first-call allocations and thread pools
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        means, real_tokens, processed_tokens = method(model, tokenizer, pairs, args)
        seconds.append(time.perf_counter() - start)
    rss_after_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    output = Path(args.output)
    if means is not None:
        np.save(output.with_suffix(".npy"), means)
    output.write_text(
        json.dumps(
            {
                "method": args.worker,
                "seconds": min(seconds),
                "all_seconds": seconds,
                "real_tokens": real_tokens,
                "processed_tokens": processed_tokens,
                "peak_rss_mib": rss_after_kib / 1024,
                "rss_before_run_mib": rss_before_kib / 1024,
            }
        )
    )


# --------------------------------------------------------------------------- driver


def run_method(method: str, args, folder: Path) -> dict:
    output = folder / f"{method}.json"
    command = [sys.executable, __file__, "--worker", method, "--output", str(output)]
    for name in ("backbone", "layers", "pairs", "subset", "data_dir", "max_length", "batch_size",
                 "fixed_batch_size", "repeats", "fixed_repeats", "threads"):
        value = getattr(args, name)
        if value is not None:
            command += [f"--{name.replace('_', '-')}", str(value)]
    print(f"running {method} ...", flush=True)
    subprocess.run(command, check=True)
    result = json.loads(output.read_text())
    means_path = output.with_suffix(".npy")
    result["means"] = np.load(means_path) if means_path.exists() else None
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return 0

    with tempfile.TemporaryDirectory(prefix="capture-speed-") as folder:
        results = {method: run_method(method, args, Path(folder)) for method in METHODS}

    ours, fixed, plain = results["rmbench"], results["fixed-1024"], results["plain"]
    difference = float(np.max(np.abs(ours["means"] - fixed["means"])))
    speedup = fixed["seconds"] / ours["seconds"]
    overhead = ours["seconds"] / plain["seconds"] - 1

    print()
    print(f"{args.backbone}, {args.layers} layers, {args.pairs} {args.subset} test pairs, "
          f"max_length {args.max_length}, {args.threads} torch thread(s)")
    print(f"{'method':<12} {'seconds':>9} {'real tok/s':>11} {'processed tok':>14} {'peak RSS MiB':>13} {'RSS before MiB':>15}")
    for method in METHODS:
        r = results[method]
        print(f"{method:<12} {r['seconds']:>9.2f} {r['real_tokens'] / r['seconds']:>11.0f} "
              f"{r['processed_tokens']:>14d} {r['peak_rss_mib']:>13.0f} {r['rss_before_run_mib']:>15.0f}")
    print(f"max |rmbench - fixed-1024| over all neurons: {difference:.2e} (tolerance {args.tolerance:g})")
    print(f"speed-up over fixed-1024: {speedup:.1f}x (target >= 10x)")
    print(f"capture overhead over a plain forward pass: {100 * overhead:+.1f}% (target <= 5%)")

    return 0 if difference <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
