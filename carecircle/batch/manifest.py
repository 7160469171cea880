"""The batch manifest (``manifest.json``): what each task read, with which options, how it ended, what it wrote.

A task's **fingerprint** is the SHA-256 of the content of every file it reads (network, facilities,
communities, demand, buildings, subdistricts, boundary, candidates, excluded zones, a standards profile file,
the scenario file; the bundled demo's files when it runs on them), the SHA-256 of its options (the study
configuration as JSON, output folder left out) and carecircle's version. A rerun skips a task whose entry is
``done`` with the same fingerprint and whose output files are all still there; it reruns a task that failed,
changed or lost a file. Entries are written after every region, so an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from carecircle.batch.spec import BatchTask
from carecircle.config import StudyConfig
from carecircle.errors import OutputError
from carecircle.io.default_data import default_data_dir, default_network_path
from carecircle.outputs.files import write_atomically
from carecircle.version import __version__

log = logging.getLogger(__name__)

#: File name of the manifest inside the batch folder.
MANIFEST_NAME = "manifest.json"
#: Format of the manifest; an older or newer one is not trusted (every task reruns).
MANIFEST_VERSION = 1


def load_manifest(folder: Path) -> dict:
    """The manifest in ``folder`` (an empty one when there is none, or it is unreadable or of another format)."""
    path = folder / MANIFEST_NAME
    empty = {"format": MANIFEST_VERSION, "tasks": {}}
    if not path.is_file():
        return empty
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("batch: ignoring unreadable manifest %s (%s); every task runs again", path, exc)
        return empty
    if not isinstance(data, dict) or data.get("format") != MANIFEST_VERSION or not isinstance(data.get("tasks"), dict):
        log.warning("batch: manifest %s is of another format; every task runs again", path)
        return empty
    return data


def save_manifest(folder: Path, manifest: dict) -> Path:
    """Write the manifest atomically (a reader never sees half of it)."""
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False, default=str) + "\n"
    return write_atomically(folder / MANIFEST_NAME, lambda fh: fh.write(text.encode("utf-8")), what="the manifest")


def fingerprint(task: BatchTask) -> dict:
    """The content hashes of a task's inputs and options (see the module's description)."""
    config = task.config
    if config is None:
        return {"inputs": {}, "options": _digest_text(json.dumps(task.data, sort_keys=True, default=str)),
                "version": __version__}
    inputs = {str(p): file_digest(p) for p in input_files(config)}
    for key, gdf in _frames(config).items():
        inputs[f"<{key}: GeoDataFrame>"] = frame_digest(gdf)
    return {"inputs": inputs, "options": options_digest(config), "version": __version__}


def is_current(entry: dict | None, print_: dict, folder: Path) -> bool:
    """Whether a task's manifest ``entry`` is done with fingerprint ``print_`` and all its outputs are in ``folder``."""
    if not entry or entry.get("status") != "done":
        return False
    if any(entry.get(k) != print_.get(k) for k in ("inputs", "options", "version")):
        return False
    outputs = entry.get("outputs") or {}
    return bool(outputs) and all((folder / name).is_file() for name in outputs)


def input_files(config: StudyConfig) -> list[Path]:
    """Every file ``config`` reads (the bundled demo's when it runs on them), sorted, each once."""
    files: list[Path] = []
    area = config.area
    if area is None:
        files.append(default_network_path())
        files += [p for p in sorted(default_data_dir().iterdir()) if p.is_file()]
    else:
        files += [p for p in (area.network, area.polygon) if p is not None]
    files += [p for p in config.inputs.__dict__.values() if isinstance(p, Path)]
    if config.suggest is not None:
        files += [p for p in (config.suggest.candidates, config.suggest.exclude) if p is not None]
    if config.region is not None and isinstance(config.region.boundary, Path):
        files.append(config.region.boundary)
    if config.standard is not None and Path(config.standard).is_file():
        files.append(Path(config.standard))
    if config.path is not None:
        files.append(config.path)
    return sorted({Path(p).resolve() for p in files})


def _frames(config: StudyConfig) -> dict[str, gpd.GeoDataFrame]:
    found = {k: v for k, v in config.inputs.__dict__.items() if isinstance(v, gpd.GeoDataFrame)}
    if config.region is not None and isinstance(config.region.boundary, gpd.GeoDataFrame):
        found["region.boundary"] = config.region.boundary
    return found


def options_digest(config: StudyConfig) -> str:
    """SHA-256 of the configuration's options (the output folder left out; GeoDataFrames by their content)."""
    data = config.model_dump(exclude={"outputs": {"folder"}})
    return _digest_text(json.dumps(data, sort_keys=True, default=_plain))


def _plain(value: Any) -> str:
    if isinstance(value, gpd.GeoDataFrame):
        return f"GeoDataFrame {frame_digest(value)}"
    return str(value)


def frame_digest(gdf: pd.DataFrame) -> str:
    """SHA-256 of a (Geo)DataFrame's content: its columns, values, geometries as WKB, and CRS."""
    h = hashlib.sha256()
    h.update(json.dumps([str(c) for c in gdf.columns]).encode())
    h.update(pd.util.hash_pandas_object(pd.DataFrame(gdf.drop(columns="geometry", errors="ignore")),
                                        index=False).to_numpy().tobytes())
    if isinstance(gdf, gpd.GeoDataFrame):
        h.update(b"".join(gdf.geometry.to_wkb().to_numpy()))
        h.update(str(gdf.crs).encode())
    return h.hexdigest()


@cache
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's content (remembered per path, size and modification time within this process)."""
    path = Path(path)
    try:
        stat = path.stat()
        return _file_digest(path, stat.st_size, stat.st_mtime_ns)
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"


def output_digests(folder: Path) -> dict[str, str]:
    """``{relative path: SHA-256}`` of every file under a task's folder (comparisons in other folders excluded)."""
    if not folder.is_dir():
        raise OutputError(f"{folder}: the task wrote no folder.")
    return {p.relative_to(folder).as_posix(): file_digest(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def _digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
