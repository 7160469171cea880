"""Writing so that a reader never sees a file half-written, nor an output folder half-replaced, and a failure
never corrupts what was there: one file (:func:`write_atomically`) or a whole folder (:func:`write_folder`)."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from carecircle.errors import InputError, OutputError

try:
    import fcntl
except ImportError:  # not POSIX: lock files made with O_EXCL, temporaries judged by age
    fcntl = None

log = logging.getLogger(__name__)

_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def write_atomically(path: str | os.PathLike[str], write: Callable[[BinaryIO], None], *, what: str) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then replace ``path`` with it.

    The existing file keeps its permissions (new files get 0644). ``what`` names the file in messages
    ("the map", "the report").

    Raises
    ------
    OutputError
        The directory does not exist or cannot be written; ``path`` is left as it was.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise OutputError(f"{target}: directory {target.parent} does not exist; create it or choose another path.")
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    tmp_name: str | None = None
    try:
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp",
                                         delete=False) as tmp:
            tmp_name = tmp.name
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except OSError as exc:
        if tmp_name is not None and os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise OutputError(f"{target}: cannot write {what} ({exc.strerror or exc}); "
                          "check permissions and free space.") from exc
    log.info("wrote %s to %s (%d kB)", what, target, target.stat().st_size // 1024)
    return target


# --- a whole folder, all files or none ----------------------------------------------------------------------------

#: How long a run waits for another run writing into the same folder before giving up (seconds).
LOCK_WAIT_S = 60.0
#: A temporary folder nobody holds is left alone this long (its run may be between creating and locking it).
_GRACE_S = 10.0
#: Without flock (not POSIX), temporaries and lock files older than this are taken as left by a killed run.
STALE_AFTER_S = 300.0
_TAG = ".carecircle-"  # in every name this module writes beside or inside an output folder


def write_folder(out_dir: str | os.PathLike[str], fill: Callable[[Path], Iterable[str]], *, manifest: str,
                 wait_s: float = LOCK_WAIT_S) -> list[Path]:
    """Write a set of files into ``out_dir`` so that a reader sees the earlier set or the new one, never a mix.

    ``fill(folder)`` writes the new files into a fresh folder beside ``out_dir`` and returns their names. Then,
    holding a lock beside ``out_dir`` (one run at a time; a second waits up to ``wait_s`` seconds), the files
    of ``out_dir`` that no earlier run wrote are added to the new folder (hard links; sub-folders moved), the
    new folder swaps places with ``out_dir`` (one atomic exchange where the system has it, else two renames)
    and the old one is removed. Files only an earlier run wrote (listed in the ``manifest`` file it left) are
    thereby dropped; other files are kept. Temporaries that killed runs left beside ``out_dir`` are removed.

    A failure anywhere leaves ``out_dir`` as it was, and a folder that did not exist is not created (nor are
    its missing parents).

    Returns
    -------
    list of pathlib.Path
        The new files, at their final place.

    Raises
    ------
    OutputError
        ``out_dir`` or its parent cannot be written, is a file, a mount point or the current folder; another
        run holds the folder longer than ``wait_s``; or ``fill`` raised an ``OSError``.
    """
    target = Path(os.path.realpath(out_dir))
    parent = target.parent
    _check_swappable(target, Path(out_dir))
    created = _make_parents(parent, Path(out_dir))
    staging: Path | None = None
    held: int | None = None
    try:
        staging, held = _new_staging(target)
        names = [str(n) for n in fill(staging)]
        with _folder_lock(target, wait_s):
            _clean_stale(target)
            carried = _carry_over(target, staging, set(names), manifest)
            (staging / manifest).write_text(json.dumps(sorted(names), ensure_ascii=False) + "\n", encoding="utf-8")
            _swap_in(staging, target, carried)
            staging = None
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(f"{out_dir}: cannot write the results ({exc.strerror or exc}); check free space and "
                          "permissions, or choose another folder with --output.") from exc
    finally:
        if held is not None:
            os.close(held)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
            _remove_empty(created)
    return [Path(out_dir) / n for n in names]


def _check_swappable(target: Path, given: Path) -> None:
    if target.exists() and not target.is_dir():
        raise OutputError(f"{given}: exists and is not a folder; choose another folder with --output.")
    if target.is_dir() and os.path.ismount(target):
        raise OutputError(f"{given}: is a mount point, which cannot be replaced as a whole; write the results into "
                          "a folder inside it (--output).")
    cwd = Path(os.path.realpath(Path.cwd()))
    if cwd == target or target in cwd.parents:
        raise OutputError(f"{given}: is the current folder or holds it; results replace their folder as a whole, so "
                          "write them into a folder of their own (e.g. --output results).")


def _make_parents(parent: Path, given: Path) -> list[Path]:
    """Create ``parent`` and its missing ancestors; returns those created, deepest first."""
    missing = []
    p = parent
    while not p.exists():
        missing.append(p)
        p = p.parent
    try:
        for p in reversed(missing):
            p.mkdir()
    except OSError as exc:
        _remove_empty(missing)
        raise OutputError(f"cannot create output folder {str(given)!r} ({exc.strerror}); "
                          "choose another with --output.") from exc
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for p in folders:  # deepest first
        try:
            p.rmdir()
        except OSError:
            return


def _new_staging(target: Path) -> tuple[Path, int | None]:
    """A new empty folder beside ``target`` (mode as a mkdir would give) and a held lock on it, if any."""
    for _ in range(100):
        path = target.parent / f".{target.name}{_TAG}new-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path, _hold(path)
    raise OutputError(f"{target}: cannot create a temporary folder beside it.")


def _hold(path: Path) -> int | None:
    """An open descriptor of ``path`` with an exclusive flock held (None where flock is not available)."""
    if fcntl is None:
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _is_held(path: Path) -> bool:
    """Whether a live run holds ``path`` (its flock; without flock: younger than :data:`STALE_AFTER_S`)."""
    age = time.time() - path.lstat().st_mtime
    if fcntl is None:
        return age < STALE_AFTER_S
    fd = _hold(path)
    if fd is None:
        return True
    os.close(fd)
    return age < _GRACE_S and "new-" in path.name


class _folder_lock:
    """Exclusive lock on ``.<name>.carecircle-lock`` beside the folder: one writer per folder at a time."""

    def __init__(self, target: Path, wait_s: float):
        self.path = target.parent / f".{target.name}{_TAG}lock"
        self.target, self.wait_s, self.fd = target, wait_s, None

    def __enter__(self):
        deadline = time.monotonic() + self.wait_s
        while True:
            if self._try():
                return self
            if time.monotonic() >= deadline:
                raise OutputError(f"{self.target}: another carecircle run is writing into this folder (waited "
                                  f"{self.wait_s:g} s); let it finish, or choose another folder with --output.")
            time.sleep(0.05)

    def _try(self) -> bool:
        if fcntl is None:
            try:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                with contextlib.suppress(OSError):
                    if time.time() - self.path.stat().st_mtime > STALE_AFTER_S:
                        self.path.unlink()
                return False
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(self.path).st_ino:  # removed by the run that held it: retry
                raise BlockingIOError
        except OSError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()  # while held: a run waiting on the old file sees it gone and opens a new one
        os.close(self.fd)


def _clean_stale(target: Path) -> None:
    """Remove temporary folders that killed runs left beside ``target`` (nobody holds them)."""
    prefix = f".{target.name}{_TAG}"
    for entry in target.parent.iterdir():
        if not entry.name.startswith(prefix) or entry.name == f"{prefix}lock" or not entry.is_dir():
            continue
        with contextlib.suppress(OSError):
            if not _is_held(entry):
                shutil.rmtree(entry)
                log.info("removed %s, left by an interrupted run", entry)


def _ours(name: str) -> bool:
    """Temporaries and locks of this module (``.carecircle-*`` inside, ``.<name>.carecircle-*`` beside)."""
    return name.startswith(_TAG) or (name.startswith(".") and _TAG in name)


def _carry_over(target: Path, staging: Path, new: set[str], manifest: str) -> list[str]:
    """Link the files of ``target`` that no carecircle run wrote into ``staging``; returns the sub-folders (and
    other entries) to move there just before the swap."""
    if not target.is_dir():
        return []
    try:
        earlier = set(json.loads((target / manifest).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        earlier = set()
    moved = []
    for entry in sorted(target.iterdir()):
        name = entry.name
        if name == manifest or _ours(name):
            continue
        if entry.is_symlink():
            if name not in new:
                os.symlink(os.readlink(entry), staging / name)
        elif entry.is_dir():
            if name in new:
                raise OutputError(f"{entry}: is a folder where a result file goes; move it away or choose "
                                  "another folder with --output.")
            moved.append(name)
        elif name in new:
            continue  # replaced
        elif name in earlier and entry.is_file():
            log.info("export: removed %s, written by an earlier run but not by this one", entry)
        elif entry.is_file():
            try:
                os.link(entry, staging / name)
            except OSError:  # no hard links here (some network and FAT file systems)
                shutil.copy2(entry, staging / name)
        else:
            moved.append(name)
    return moved


def _swap_in(staging: Path, target: Path, moved: list[str]) -> None:
    """Put ``staging`` where ``target`` is (or creates it), then remove the old folder."""
    if not target.is_dir():
        os.rename(staging, target)
        return
    os.chmod(staging, target.stat().st_mode & 0o7777)
    done = []
    try:
        for name in moved:  # sub-folders: moved at the last moment (they cannot be linked)
            os.rename(target / name, staging / name)
            done.append(name)
        old = target.parent / f".{target.name}{_TAG}old-{os.getpid()}-{secrets.token_hex(4)}"
        if _exchange(staging, target):
            old = staging  # which now holds the old set
        else:
            os.rename(target, old)
            try:
                os.rename(staging, target)
            except OSError:
                os.rename(old, target)
                raise
    except OSError:
        for name in done:
            with contextlib.suppress(OSError):
                os.rename(staging / name, target / name)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where that is not available."""
    renameat2 = getattr(_LIBC, "renameat2", None) if _LIBC is not None else None
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):  # not supported by this file system
        return False
    raise OSError(err, os.strerror(err), str(b))


def write_new_text(path: str | os.PathLike, text: str, *, exists_hint: str) -> Path:
    """Write ``text`` to ``path``, which must not exist yet: a user's file is never overwritten. An existing file is
    an :class:`~carecircle.errors.InputError` ending in ``exists_hint``; a folder that cannot be written an
    :class:`~carecircle.errors.OutputError`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as f:  # "x": created here or refused, never replaced
            f.write(text)
    except FileExistsError as exc:
        raise InputError(f"{path} already exists; {exists_hint}.") from exc
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({exc.strerror or exc}); choose another folder.") from exc
    return path
