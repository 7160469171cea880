"""Write a study's results to a folder, all or nothing.

Every file is first written into a temporary folder beside the destination; only when all of them are
complete are they moved into place (``os.replace``, atomic per file). A failed run leaves the previous
results untouched and no half-written file behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from carecircle import __version__
from carecircle.errors import OutputError
from carecircle.maps import coverage_map, save_map
from carecircle.pipeline import StudyResult

log = logging.getLogger(__name__)

#: Files a run writes, in the order a reader wants them.
OUTPUT_FILES = ("map.html", "summary.json", "communities.csv", "facilities.csv", "demand.csv", "layers.gpkg")


def write_outputs(study: StudyResult, out_dir: str | os.PathLike, *, lang: str = "en",
                  title: str | None = None) -> dict[str, Path]:
    """Write the map, the summary and the tables of ``study`` into ``out_dir``.

    Files: ``map.html`` (self-contained interactive map), ``summary.json`` (headline figures and the inputs
    used), ``communities.csv``, ``facilities.csv``, ``demand.csv`` (UTF-8 with BOM so Excel reads Chinese),
    and ``layers.gpkg`` (every layer, for GIS).

    Returns
    -------
    dict mapping each file name to its final path.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".carecircle-", dir=out_dir))
    except OSError as exc:
        raise OutputError(f"cannot create output folder {str(out_dir)!r} ({exc.strerror}); "
                          "choose another with --output.") from exc
    try:
        cov = study.coverage
        kwargs = {"lang": lang, "note": study.note}
        if title:
            kwargs["title"] = title
        save_map(coverage_map(cov, study.isochrones, **kwargs), tmp / "map.html")
        summary = {
            "study": study.name,
            "carecircle_version": __version__,
            "inputs": study.inputs,
            "note": study.note,
            **cov.summary,
        }
        (tmp / "summary.json").write_text(json.dumps(_jsonable(summary), ensure_ascii=False, indent=2) + "\n",
                                          encoding="utf-8")
        _csv(cov.communities, tmp / "communities.csv")
        _csv(cov.facilities, tmp / "facilities.csv", with_lonlat=True)
        _csv(cov.demand, tmp / "demand.csv", with_lonlat=True)
        _gpkg(study, tmp / "layers.gpkg")
        written = {}
        for name in OUTPUT_FILES:
            os.replace(tmp / name, out_dir / name)
            written[name] = out_dir / name
    except OSError as exc:
        raise OutputError(f"cannot write results into {str(out_dir)!r} ({exc}); check space and permissions, "
                          "or choose another folder with --output.") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("export: wrote %d files to %s", len(written), out_dir)
    return written


def _csv(gdf, path: Path, *, with_lonlat: bool = False) -> None:
    df = pd.DataFrame(gdf.drop(columns="geometry"))
    if with_lonlat and len(gdf):
        df["lon"] = gdf.geometry.x.round(7).to_numpy()
        df["lat"] = gdf.geometry.y.round(7).to_numpy()
    floats = df.select_dtypes("float").columns
    df[floats] = df[floats].round(4)
    df.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")


def _gpkg(study: StudyResult, path: Path) -> None:
    cov = study.coverage
    layers = {"communities": cov.communities, "facilities": cov.facilities, "demand": cov.demand}
    if study.isochrones is not None:
        layers["isochrones"] = study.isochrones.assign(facility_id=study.isochrones["facility_id"].astype("string"))
    for name, gdf in layers.items():
        if len(gdf):
            gdf.to_file(path, layer=name, driver="GPKG")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
