"""Device choice for pytest-xdist workers: worker ``gwN`` trains on GPU ``N % n_gpus``.

transformers' Trainer always trains on ``cuda:0`` of the visible devices outside a distributed
launch, so a worker is pinned by narrowing ``CUDA_VISIBLE_DEVICES`` to its GPU before CUDA starts
(:func:`pin_worker_to_device`). :func:`pick_device_for_worker` is the pure choice behind it.

``rmbench train`` also runs under ``accelerate launch`` or ``torchrun``: TRL's RewardTrainer then
shards each batch across processes (see ``rmbench.training.trainer``), and no pinning is needed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

logger = logging.getLogger(__name__)

XDIST_WORKER_ENV = "PYTEST_XDIST_WORKER"


def xdist_worker_index(env: Mapping[str, str] | None = None) -> int | None:
    """Return N for the pytest-xdist worker ``gwN`` named in ``PYTEST_XDIST_WORKER``, or None outside xdist."""
    env = os.environ if env is None else env
    worker = env.get(XDIST_WORKER_ENV, "")
    if not worker:
        return None
    digits = worker.removeprefix("gw")
    if not digits.isdigit():
        raise ValueError(f"{XDIST_WORKER_ENV}={worker!r} is not of the form gwN")
    return int(digits)


def _visible_gpu_count() -> int:
    # torch.cuda.device_count does not initialise CUDA and does not cache its result before that.
    import torch

    return torch.cuda.device_count()


def pick_device_for_worker(env: Mapping[str, str] | None = None, n_gpus: int | None = None) -> str:
    """Return the device for this process: ``cuda:(N % n_gpus)`` for xdist worker gwN, ``cuda:0`` outside xdist, else ``cpu``.

    ``n_gpus`` defaults to the number of visible GPUs.
    """
    n_gpus = _visible_gpu_count() if n_gpus is None else n_gpus
    if n_gpus <= 0:
        return "cpu"
    index = xdist_worker_index(env)
    return f"cuda:{(index or 0) % n_gpus}"


def pin_worker_to_device(env: Mapping[str, str] | None = None) -> str:
    """Expose only this xdist worker's GPU through ``CUDA_VISIBLE_DEVICES``; return the device to train on.

    Returns ``cuda`` after pinning, ``cpu`` without GPUs, and leaves the environment alone outside
    xdist, with a single GPU, or once CUDA is initialised (then it logs a warning).
    """
    import torch

    device = pick_device_for_worker(env)
    if device == "cpu":
        return "cpu"
    n_gpus = _visible_gpu_count()
    if xdist_worker_index(env) is None or n_gpus == 1:
        return "cuda"
    if torch.cuda.is_initialized():
        logger.warning("CUDA is already initialised; cannot pin this xdist worker to %s", device)
        return "cuda"
    index = int(device.split(":")[1])
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    physical = visible.split(",")[index] if visible else str(index)
    os.environ["CUDA_VISIBLE_DEVICES"] = physical
    logger.info("Pinned xdist worker %s to GPU %s", os.environ.get(XDIST_WORKER_ENV), physical)
    return "cuda"
