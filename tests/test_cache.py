"""The trained-model cache: one trainer per key across processes, resume after a kill, corrupt entries."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rmbench.cache_dir import build_once, temp_path_for
from rmbench.training import (
    TrainConfig,
    clear_cache,
    get_or_train,
    is_complete_model,
    list_cache,
    pick_device_for_worker,
    read_manifest,
)
from rmbench.training.cache import format_cache_table, model_path

TINY = dict(
    backbone="tiny-llama-random",
    objective="harmless",
    train_pairs=16,
    heldout_pairs=8,
    max_length=48,
    epochs=1,
    bootstrap=100,
    progress=False,
)

# Runs get_or_train in a fresh interpreter. Every optimizer step sleeps STEP_DELAY seconds so that
# the other process (or the test) has time to act while this one trains.
CHILD_SCRIPT = textwrap.dedent(
    """
    import json, logging, os, sys, time
    from pathlib import Path

    import torch
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    from trl import RewardTrainer
    from rmbench.training import TrainConfig, get_or_train

    step_delay = float(os.environ["STEP_DELAY"])
    original_step = RewardTrainer.training_step

    def slow_step(self, *args, **kwargs):
        time.sleep(step_delay)
        return original_step(self, *args, **kwargs)

    RewardTrainer.training_step = slow_step

    cfg = TrainConfig(**json.loads(os.environ["TRAIN_CONFIG"]))
    work = Path(os.environ["WORK_DIR"])
    name = os.environ["CHILD_NAME"]
    (work / f"ready-{name}").touch()
    while not (work / "go").exists():
        time.sleep(0.05)
    path = get_or_train(cfg, cache_dir=os.environ["MODEL_CACHE"])
    result = {"pid": os.getpid(), "path": str(path), "returned_at": time.time()}
    (work / f"result-{name}.json").write_text(json.dumps(result))
    """
)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _config(data_dir: Path, **overrides) -> TrainConfig:
    return TrainConfig(**{**TINY, **overrides}, data_dir=str(data_dir))


def _start_child(name: str, cfg: TrainConfig, work: Path, cache: Path, step_delay: float) -> subprocess.Popen:
    script = work / "child.py"
    script.write_text(CHILD_SCRIPT)
    env = {
        **os.environ,
        "TRAIN_CONFIG": json.dumps(cfg.to_dict()),
        "WORK_DIR": str(work),
        "MODEL_CACHE": str(cache),
        "CHILD_NAME": name,
        "STEP_DELAY": str(step_delay),
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
    }
    log = open(work / f"log-{name}.txt", "w")
    return subprocess.Popen([sys.executable, str(script)], env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_for(path: Path, timeout: float, processes: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        failed = [p.args for p in processes if p.poll() not in (None, 0)]
        assert not failed, f"child process failed before {path.name} appeared: {failed}"
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {path}"
        time.sleep(0.1)


# ---------------------------------------------------------------------- processes


@pytest.mark.slow
def test_two_processes_train_the_model_once(tmp_path, data_dir):
    cfg = _config(data_dir)
    cache = tmp_path / "cache"
    children = {name: _start_child(name, cfg, tmp_path, cache, step_delay=1.0) for name in ("a", "b")}
    for name in children:
        _wait_for(tmp_path / f"ready-{name}", 120, list(children.values()))
    (tmp_path / "go").touch()
    for name, child in children.items():
        assert child.wait(timeout=300) == 0, (tmp_path / f"log-{name}.txt").read_text()

    results = {name: json.loads((tmp_path / f"result-{name}.json").read_text()) for name in children}
    logs = {name: (tmp_path / f"log-{name}.txt").read_text() for name in children}
    assert results["a"]["path"] == results["b"]["path"] == str(model_path(cfg.cache_key(), cache))

    manifest = read_manifest(results["a"]["path"])
    trainer = [name for name in children if results[name]["pid"] == manifest["trained_by"]["pid"]]
    assert len(trainer) == 1
    waiter = "b" if trainer == ["a"] else "a"
    assert "Built RM" in logs[trainer[0]]
    assert "Built RM" not in logs[waiter]
    assert "Waiting for another process" in logs[waiter]
    assert "was built by another process" in logs[waiter]
    assert [row["key"] for row in list_cache(cache)] == [cfg.cache_key()]


@pytest.mark.slow
def test_killed_training_resumes_from_checkpoint(tmp_path, data_dir):
    cfg = _config(data_dir, train_pairs=48, checkpoint_steps=2)
    cache = tmp_path / "cache"
    target = model_path(cfg.cache_key(), cache)
    checkpoint_state = temp_path_for(target) / "checkpoints" / "checkpoint-2" / "trainer_state.json"

    child = _start_child("killed", cfg, tmp_path, cache, step_delay=1.0)
    (tmp_path / "go").touch()
    _wait_for(checkpoint_state, 180, [child])
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)

    assert not target.exists()
    assert not is_complete_model(target)
    assert checkpoint_state.is_file()

    path = get_or_train(cfg, cache_dir=cache)
    assert path == target
    manifest = read_manifest(path)
    assert manifest["training"]["resumed_from_step"] >= 2
    assert manifest["training"]["steps"] == 6
    assert not temp_path_for(target).exists()

    # Resuming restores optimizer, scheduler, data order and RNG state, so it lands on the weights
    # of an uninterrupted run up to float rounding.
    fresh = get_or_train(cfg, cache_dir=tmp_path / "fresh-cache")
    resumed_weights = load_file(path / "model.safetensors")
    fresh_weights = load_file(fresh / "model.safetensors")
    for name, tensor in fresh_weights.items():
        torch.testing.assert_close(resumed_weights[name], tensor, atol=1e-5, rtol=1e-4)


DISTRIBUTED_SCRIPT = textwrap.dedent(
    """
    import json, os, sys

    import torch
    torch.set_num_threads(1)

    from rmbench.training import TrainConfig, get_or_train, read_manifest

    cfg = TrainConfig(**json.loads(os.environ["TRAIN_CONFIG"]))
    path = get_or_train(cfg, cache_dir=os.environ["MODEL_CACHE"])
    result = {"rank": int(os.environ["RANK"]), "path": str(path), "manifest": read_manifest(path)}
    with open(os.path.join(os.environ["WORK_DIR"], f"result-{os.environ['RANK']}.json"), "w") as handle:
        json.dump(result, handle)
    """
)


def _free_loopback_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_distributed_launch_trains_once(tmp_path, data_dir):
    cfg = _config(data_dir, train_pairs=32)
    script = tmp_path / "distributed.py"
    script.write_text(DISTRIBUTED_SCRIPT)
    env = {
        **os.environ,
        "TRAIN_CONFIG": json.dumps(cfg.to_dict()),
        "WORK_DIR": str(tmp_path),
        "MODEL_CACHE": str(tmp_path / "cache"),
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
    }
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(_free_loopback_port()), str(script),
    ]
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]

    results = [json.loads((tmp_path / f"result-{rank}.json").read_text()) for rank in (0, 1)]
    assert results[0]["path"] == results[1]["path"] == str(model_path(cfg.cache_key(), tmp_path / "cache"))
    training = results[0]["manifest"]["training"]
    assert training["world_size"] == 2
    # 32 pairs at a global batch of 8 pairs (4 per process) take 4 optimizer steps.
    assert training["steps"] == 4
    assert is_complete_model(Path(results[0]["path"]))
    assert not temp_path_for(Path(results[0]["path"])).exists()


# ---------------------------------------------------------------------- corrupt entries and listing


@pytest.mark.parametrize("damaged_file", ["manifest.json", "model.safetensors"])
def test_corrupt_entry_is_rebuilt(tmp_path, data_dir, caplog, damaged_file):
    cfg = _config(data_dir)
    path = get_or_train(cfg, cache_dir=tmp_path)
    first_created = read_manifest(path)["created_at"]
    (path / damaged_file).unlink()
    assert not is_complete_model(path)

    with caplog.at_level(logging.WARNING, logger="rmbench.cache_dir"):
        rebuilt = get_or_train(cfg, cache_dir=tmp_path)
    assert rebuilt == path
    assert is_complete_model(rebuilt)
    assert any("corrupt" in record.getMessage() for record in caplog.records)
    assert read_manifest(rebuilt)["created_at"] >= first_created


def test_cached_model_is_returned_without_training(tmp_path, data_dir, monkeypatch):
    cfg = _config(data_dir)
    path = get_or_train(cfg, cache_dir=tmp_path)

    def fail(*args, **kwargs):
        raise AssertionError("a cached model must not be trained again")

    monkeypatch.setattr("rmbench.training.cache.train_reward_model", fail)
    assert get_or_train(cfg, cache_dir=tmp_path) == path


def test_list_and_clear_cache(tmp_path, data_dir):
    cfg = _config(data_dir)
    get_or_train(cfg, cache_dir=tmp_path)
    partial = temp_path_for(model_path("f" * 64, tmp_path))
    partial.mkdir(parents=True)

    rows = {row["key"]: row for row in list_cache(tmp_path)}
    complete = rows[cfg.cache_key()]
    assert complete["status"] == "complete"
    assert complete["backbone"] == "tiny-llama-random"
    assert complete["objective"] == "harmless"
    assert complete["seed"] == 0
    assert complete["heldout_harmless"] is not None
    assert complete["size_bytes"] > 0
    assert rows["f" * 64]["status"] == "partial"

    table = format_cache_table(list_cache(tmp_path))
    assert cfg.cache_key()[:12] in table
    assert "partial" in table

    assert clear_cache(tmp_path, objective="helpful") == 0
    assert clear_cache(tmp_path) == 2
    assert list_cache(tmp_path) == []


# ---------------------------------------------------------------------- build_once


def test_build_once_discards_failed_validation(tmp_path):
    target = tmp_path / "thing"

    def build(folder: Path) -> None:
        (folder / "half").write_text("x")

    with pytest.raises(RuntimeError, match="failed validation"):
        build_once(target, build, is_valid=lambda f: (f / "done").exists(), lock_path=tmp_path / "lock")
    assert not target.exists()
    assert (temp_path_for(target) / "half").exists()


def test_build_once_resumes_or_restarts_partial_builds(tmp_path):
    target = tmp_path / "thing"
    partial = temp_path_for(target)
    partial.mkdir()
    (partial / "progress").write_text("step 3")
    seen = []

    def build(folder: Path) -> None:
        seen.append((folder / "progress").exists())
        (folder / "done").write_text("ok")

    built = build_once(
        target, build, is_valid=lambda f: (f / "done").exists(), lock_path=tmp_path / "lock", keep_partial=True
    )
    assert built is True
    assert seen == [True]
    assert (target / "progress").exists()

    other = tmp_path / "other"
    temp_path_for(other).mkdir()
    (temp_path_for(other) / "progress").write_text("stale")
    build_once(other, build, is_valid=lambda f: (f / "done").exists(), lock_path=tmp_path / "lock2")
    assert seen == [True, False]
    assert build_once(other, build, is_valid=lambda f: (f / "done").exists(), lock_path=tmp_path / "lock2") is False


# ---------------------------------------------------------------------- xdist device pinning


@pytest.mark.parametrize(
    ("worker", "n_gpus", "expected"),
    [
        ("gw0", 2, "cuda:0"),
        ("gw1", 2, "cuda:1"),
        ("gw3", 2, "cuda:1"),
        ("gw5", 4, "cuda:1"),
        ("gw2", 1, "cuda:0"),
        ("gw1", 0, "cpu"),
        (None, 2, "cuda:0"),
        (None, 0, "cpu"),
    ],
)
def test_xdist_worker_device(worker, n_gpus, expected):
    env = {} if worker is None else {"PYTEST_XDIST_WORKER": worker}
    assert pick_device_for_worker(env, n_gpus=n_gpus) == expected


def test_xdist_worker_name_must_be_gwn():
    with pytest.raises(ValueError, match="gwN"):
        pick_device_for_worker({"PYTEST_XDIST_WORKER": "master"}, n_gpus=2)
