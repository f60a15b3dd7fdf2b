"""Cache root and the build-once helper that every rmbench cache uses.

The cache root is ``$RMBENCH_CACHE`` when set, else ``~/.cache/rmbench``. Each cached artefact is a
folder that is built in a temporary sibling folder under a file lock and moved into place with
``os.replace``. A reader therefore sees either no folder or a complete one, and an interrupted
build leaves only the temporary folder behind.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

logger = logging.getLogger(__name__)

CACHE_ENV_VAR = "RMBENCH_CACHE"


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the cache root: ``cache_dir`` if given, else ``$RMBENCH_CACHE``, else ``~/.cache/rmbench``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from_env = os.environ.get(CACHE_ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    return Path.home() / ".cache" / "rmbench"


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def lock_path_for(root: Path, name: str) -> Path:
    """Return the lock file ``<root>/locks/<name>.lock``, creating its folder."""
    locks = root / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    return locks / f"{name}.lock"


def temp_path_for(target: Path) -> Path:
    """Return the temporary build folder ``.tmp-<name>`` next to ``target``."""
    return target.parent / f".tmp-{target.name}"


def remove_tree(path: Path) -> None:
    """Delete ``path`` after first renaming it, so a crash mid-delete never leaves a half-deleted entry in place."""
    if not path.exists():
        return
    doomed = path.parent / f".deleting-{path.name}-{os.getpid()}-{time.monotonic_ns()}"
    os.replace(path, doomed)
    shutil.rmtree(doomed)


def build_once(
    target: str | os.PathLike,
    build: Callable[[Path], None],
    *,
    is_valid: Callable[[Path], bool],
    lock_path: str | os.PathLike,
    keep_partial: bool = False,
    description: str | None = None,
) -> bool:
    """Build the folder ``target`` exactly once across processes.

    ``build(tmp)`` fills the temporary folder ``.tmp-<name>`` next to ``target``. It must write
    whatever ``is_valid`` checks last, so a partial folder never validates. The folder is then moved
    into place with ``os.replace``. While one process builds, the others block on ``lock_path`` and
    return once the folder is valid.

    An existing ``target`` that fails ``is_valid`` is logged as corrupt, deleted and rebuilt. With
    ``keep_partial`` a temporary folder left by an interrupted build is handed to ``build`` again
    so that it can resume, otherwise it is deleted first.

    Returns True when this call built the folder and False when a valid one already existed.
    """
    target = Path(target)
    label = description or str(target)
    if is_valid(target):
        return False

    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path))
    waited_since = time.monotonic()
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.info("Waiting for another process to build %s (lock %s)", label, lock_path)
        lock.acquire()
    try:
        waited = time.monotonic() - waited_since
        if is_valid(target):
            logger.info("%s was built by another process while this one waited %.1f s", label, waited)
            return False
        if target.exists():
            logger.warning("Cache entry %s is corrupt (failed validation); deleting and rebuilding it", target)
            remove_tree(target)

        tmp = temp_path_for(target)
        if tmp.exists() and not keep_partial:
            logger.info("Deleting the partial build %s left by an interrupted run", tmp)
            remove_tree(tmp)
        elif tmp.exists():
            logger.info("Reusing the partial build %s left by an interrupted run", tmp)
        tmp.mkdir(parents=True, exist_ok=True)

        started = time.monotonic()
        build(tmp)
        if not is_valid(tmp):
            raise RuntimeError(f"Build of {label} finished but {tmp} failed validation; it is kept for inspection")
        os.replace(tmp, target)
        logger.info("Built %s in %.1f s", label, time.monotonic() - started)
        return True
    finally:
        lock.release()
