"""Writing one file so that a reader never sees it half-written and a failure never corrupts the old one."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from carecircle.errors import OutputError

log = logging.getLogger(__name__)


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
