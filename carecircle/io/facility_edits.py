"""A scenario's facility changes applied to the facility table: added, removed and changed facilities."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from carecircle.errors import InputError
from carecircle.io.readers import read_facilities

log = logging.getLogger(__name__)

#: What added or moved facilities are called in messages.
SOURCE = "facilities added or moved by the scenario"
#: Numeric facility fields a change may set (``None`` clears one).
NUMERIC_FIELDS = ("capacity", "beds", "nursing_beds", "floor_area_m2")


def facility_points(rows: Sequence[Mapping[str, Any]], crs: str) -> gpd.GeoDataFrame:
    """Facility rows (``facility_id``, ``lon``, ``lat``, any facility field) read exactly like a facility file:
    same coordinate conversion from ``crs``, same type names, same checks."""
    try:
        return read_facilities(pd.DataFrame(list(rows)), crs=crs, source=SOURCE)
    except InputError as exc:
        what = str(exc).removeprefix(f"{SOURCE}: ")
        raise InputError(f"{SOURCE}: {what}") from exc


def apply_facility_edits(
    facilities: gpd.GeoDataFrame,
    *,
    add: Sequence[Mapping[str, Any]] = (),
    remove: Sequence[str] = (),
    change: Mapping[str, Mapping[str, Any]] | None = None,
    crs: str = "wgs84",
) -> gpd.GeoDataFrame:
    """``facilities`` with the edits applied, as a new GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    facilities : as read by :func:`carecircle.io.readers.read_facilities`.
    add : new facility rows (``facility_id``, ``type``, ``lon``, ``lat`` and any facility field), coordinates in
        ``crs``; they follow the existing facilities.
    remove : ids of facilities that close.
    change : id → the fields that change (only those given); ``lon`` and ``lat`` together move a facility.
    crs : coordinate system of the added and moved coordinates (``wgs84``, ``gcj02``, ``bd09`` or EPSG).

    Existing facilities keep their file order. An unknown id in ``remove`` or ``change`` is an InputError.
    """
    change = {str(k): v for k, v in (change or {}).items()}  # ids are text: "001" is not "1"
    remove = [str(r) for r in remove]
    ids = facilities["facility_id"].astype(str)
    known = set(ids)
    unknown = [f for f in [*remove, *change] if f not in known]
    if unknown:
        raise InputError(f"facilities not in the facility file: {', '.join(unknown)}; check facilities.remove and "
                         "facilities.change (ids are text: quote them in YAML, e.g. \"001\").")
    for fid, values in change.items():
        bad = {k: values[k] for k in NUMERIC_FIELDS if values.get(k) is not None
               and not (np.isfinite(float(values[k])) and float(values[k]) >= 0)}
        if bad:
            shown = ", ".join(f"{k} {v!r}" for k, v in bad.items())
            raise InputError(f"facilities.change.{fid}: {shown} must be a finite non-negative number; fix the "
                             "value or leave it out.")
    out = facilities[~ids.isin(remove).to_numpy()].copy()
    for fid, values in change.items():
        row = out.index[out["facility_id"].astype(str) == fid]
        for key in NUMERIC_FIELDS:
            if key in values:
                out.loc[row, key] = np.nan if values[key] is None else float(values[key])
        for key in ("name", "type"):
            if key in values:
                out.loc[row, key] = values[key]
        if values.get("lon") is not None:
            moved = facility_points([{"facility_id": fid, "lon": values["lon"], "lat": values["lat"]}], crs)
            out.loc[row, "geometry"] = moved.geometry.iloc[0]
    if add:
        added = facility_points(add, crs)
        out = pd.concat([out, added.reindex(columns=out.columns)], ignore_index=True)
    log.info("scenario: facilities %d read, %d added, %d removed, %d changed", len(facilities), len(add),
             len(remove), len(change))
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry="geometry", crs="EPSG:4326")
