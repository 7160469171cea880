"""The one study configuration: every input, column name, walking parameter, threshold, target, standards
profile, site-suggestion request and output option of a study, with every default and validation rule stated once.

Every front door builds a :class:`StudyConfig`: the CLI from its flags (:mod:`carecircle.cli`), a scenario file
from its YAML (:mod:`carecircle.scenario`, which adds line numbers to the messages), the Python API from keyword
arguments (:func:`carecircle.pipeline.run_study`) or directly::

    config = StudyConfig.build({"walking": {"preset": "slow"}, "standard": "qitaihe-2020"})
    config.thresholds, config.target, config.lang      # the profile's defaults, resolved here and only here
    result = carecircle.run(config)

A bad value gets the same message from each: the checks below (:func:`check_walk_speed`, ...) are the ones the
CLI's option parser calls too. :meth:`StudyConfig.build` raises one :class:`~carecircle.errors.InputError`
listing every problem as ``key.path: what is wrong``.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import geopandas as gpd
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from carecircle.core.network import check_bbox
from carecircle.core.walk_model import WALK_MODELS, WalkModel
from carecircle.defaults import (
    ACCESS_METHODS,
    DEFAULT_LANG,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_NEW_SITES,
    DEFAULT_SPACING_M,
    DEFAULT_SUPPLY_COL,
    DEFAULT_TARGET_SHARE,
    DEFAULT_THRESHOLDS_MIN,
    DEFAULT_TIME_LIMIT_S,
    DEMAND_METHODS,
    LANGS,
    SPEED_PRESETS_MPS,
    SUGGEST_METHODS,
    check_band_weights,
    check_max_snap_m,
    check_metres,
    check_minutes,
    check_non_negative,
    check_share,
    check_speeds,
    check_walk_speed,
)
from carecircle.errors import InputError
from carecircle.io.coords import normalise_crs
from carecircle.io.facility_types import normalise_types
from carecircle.plan.standards import Profile, load_profile

# ------------------------------------------------------------------------------------------- the area


@dataclass(frozen=True)
class Area:
    """Where the walking network comes from: exactly one of a local file, a place name, a bbox or a polygon."""

    network: Path | None = None
    place: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    polygon: Path | None = None

    def __post_init__(self):
        given = [x is not None for x in (self.network, self.place, self.bbox, self.polygon)]
        if sum(given) > 1:
            raise InputError("give only one of --network, --place, --bbox or --polygon.")

    @property
    def is_default(self) -> bool:
        return not any(x is not None for x in (self.network, self.place, self.bbox, self.polygon))

    def name(self) -> str:
        """A folder-safe study name: ``helsinki`` by default, else from the file stem or place name."""
        if self.is_default:
            return "helsinki"
        if self.network is not None:
            raw = self.network.name.split(".")[0]
        elif self.polygon is not None:
            raw = self.polygon.stem
        elif self.place is not None:
            raw = self.place.split(",")[0]
        else:
            raw = "bbox_" + "_".join(f"{v:.3f}" for v in self.bbox)
        return safe_name(raw) or "study"


#: Facility fields a scenario may set on added or changed facilities.
FACILITY_FIELDS = ("name", "type", "lon", "lat", "capacity", "beds", "nursing_beds", "floor_area_m2")

#: Column-name options, as accepted by :func:`carecircle.pipeline.run_study` ``columns=``.
COLUMN_KEYS = (
    "facility_id_col", "name_col", "type_col", "capacity_col", "area_col", "beds_col", "nursing_beds_col",
    "lon_col", "lat_col", "community_id_col", "community_name_col", "elderly_col", "pop_col", "households_col",
    "subdistrict_col", "district_col", "residential_col", "children_col", "population_col",
    "demand_community_col",
)


# ------------------------------------------------------------------------------------------- the schema


def _folder(info: ValidationInfo) -> Path:
    return Path((info.context or {}).get("folder", "."))


def _existing_file(value: Path, info: ValidationInfo) -> Path:
    path = value.expanduser()
    if not path.is_absolute():
        path = _folder(info) / path
    if not path.exists():
        raise ValueError(f"file '{value}' does not exist (looked for {path})")
    return path


def _resolved(value: Path, info: ValidationInfo) -> Path:
    path = value.expanduser()
    return path if path.is_absolute() else _folder(info) / path


#: A path to an input file, resolved against the scenario's folder and checked to exist.
ExistingFile = Annotated[Path, AfterValidator(_existing_file)]
def _input_layer(value: Any, info: ValidationInfo) -> Path | gpd.GeoDataFrame:
    if isinstance(value, gpd.GeoDataFrame):
        return value
    if isinstance(value, str | os.PathLike):
        return _existing_file(Path(value), info)
    raise ValueError(f"{value!r} is not a file path (give a file, or from Python a GeoDataFrame)")


#: An input given as a file (checked to exist, resolved against the scenario's folder) or, from Python, as a
#: GeoDataFrame already read.
InputLayer = Annotated[Any, AfterValidator(_input_layer)]
#: A path resolved against the scenario's folder (an output folder need not exist yet).
ResolvedPath = Annotated[Path, AfterValidator(_resolved)]
Share = Annotated[float, AfterValidator(check_share)]
NonNegative = Annotated[float, AfterValidator(check_non_negative)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_default(cls, data):
        # A key left empty in YAML (``columns:`` with every line commented out) means its default.
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class AreaSpec(_Spec):
    """Where the walking network comes from: exactly one of the four keys."""

    place: str | None = None
    bbox: list[float] | None = None
    polygon: ExistingFile | None = None
    network: ExistingFile | None = None

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, value):
        if value is None:
            return value
        if len(value) != 4:
            raise ValueError(f"needs four numbers [west, south, east, north] in degrees, got {len(value)}")
        return list(check_bbox(value))

    @model_validator(mode="after")
    def _exactly_one(self):
        return _raise_first(self, _area_problems(self.__dict__))

    def to_area(self) -> Area:
        return Area(network=self.network, place=self.place, bbox=tuple(self.bbox) if self.bbox else None,
                    polygon=self.polygon)


class InputsSpec(_Spec):
    """Input files (or, from Python, GeoDataFrames); with no area they default to the bundled demo files."""

    facilities: InputLayer | None = None
    communities: InputLayer | None = None
    demand: InputLayer | None = None
    buildings: InputLayer | None = None
    subdistricts: InputLayer | None = None
    demand_method: Literal[DEMAND_METHODS] = DEMAND_METHODS[0]
    population_raster: list[ExistingFile] | None = None
    raster_scale: bool = True
    type_map: ExistingFile | None = None
    sheet: str | None = None
    facilities_sheet: str | None = None
    demand_sheet: str | None = None

    @field_validator("population_raster", mode="before")
    @classmethod
    def _one_or_more(cls, value):
        return [value] if isinstance(value, str | os.PathLike) else value

    def sheet_of(self, kind: str) -> str | None:
        """The Excel sheet to read for ``kind`` (``facilities`` or ``demand``): its own ``<kind>_sheet``, else
        ``sheet`` when that input is a workbook (``sheet`` never applies to a CSV)."""
        own = getattr(self, f"{kind}_sheet")
        if own is not None:
            return own
        value = getattr(self, kind)
        is_book = isinstance(value, str | os.PathLike) and Path(value).suffix.lower() in (".xlsx", ".xlsm", ".xls")
        return self.sheet if is_book else None


class ColumnsSpec(_Spec):
    """Source column names (``None``: the reader's default)."""

    facility_id_col: str | None = None
    name_col: str | None = None
    type_col: str | None = None
    capacity_col: str | None = None
    area_col: str | None = None
    beds_col: str | None = None
    nursing_beds_col: str | None = None
    lon_col: str | None = None
    lat_col: str | None = None
    community_id_col: str | None = None
    community_name_col: str | None = None
    elderly_col: str | None = None
    pop_col: str | None = None
    households_col: str | None = None
    subdistrict_col: str | None = None
    district_col: str | None = None
    residential_col: str | None = None
    children_col: str | None = None
    population_col: str | None = None
    demand_community_col: str | None = None


def _facility_type(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(normalise_types([value])[0])
    except InputError as exc:
        raise ValueError(str(exc).rstrip(".")) from exc


class FacilityAdd(_Spec):
    """A planned facility. ``lon``/``lat`` are in the scenario's ``facilities.crs``."""

    facility_id: str
    name: str | None = None
    type: Annotated[str, AfterValidator(_facility_type)]
    lon: float
    lat: float
    capacity: NonNegative | None = None
    beds: NonNegative | None = None
    nursing_beds: NonNegative | None = None
    floor_area_m2: NonNegative | None = None


class FacilityChange(_Spec):
    """New values for some fields of an existing facility (``lon``/``lat`` move it; both together)."""

    name: str | None = None
    type: Annotated[str | None, AfterValidator(_facility_type)] = None
    lon: float | None = None
    lat: float | None = None
    capacity: NonNegative | None = None
    beds: NonNegative | None = None
    nursing_beds: NonNegative | None = None
    floor_area_m2: NonNegative | None = None

    @model_validator(mode="after")
    def _sensible(self):
        return _raise_first(self, _change_problems({k: getattr(self, k) for k in self.model_fields_set}))


class FacilitiesSpec(_Spec):
    """The coordinate system of facility coordinates, and the facilities the scenario adds, removes, changes."""

    crs: str = "wgs84"
    add: list[FacilityAdd] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)
    change: dict[str, FacilityChange] = Field(default_factory=dict)

    @field_validator("crs")
    @classmethod
    def _crs(cls, value: str) -> str:
        return _check_crs(value)

    @model_validator(mode="after")
    def _consistent(self):
        return _raise_first(self, _facilities_problems(
            {"add": [a.model_dump() for a in self.add], "remove": self.remove, "change": self.change}))

    @property
    def has_changes(self) -> bool:
        return bool(self.add or self.remove or self.change)


class WalkingSpec(_Spec):
    """Walking speed (m/s, or a preset), how far a point may lie from the network, and the walking model
    (:mod:`carecircle.core.walk_model`: ``plain``, or ``older`` with stairs, crossings and barriers; slopes from a
    DEM with either) with its parameters."""

    speed_mps: Annotated[float, AfterValidator(check_walk_speed)] | None = None
    preset: Literal[tuple(SPEED_PRESETS_MPS)] | None = None
    max_snap_m: Annotated[float, AfterValidator(check_max_snap_m)] = DEFAULT_MAX_SNAP_M
    model: Literal[WALK_MODELS] | None = None
    avoid_steps: bool = False
    dem: ExistingFile | None = None
    step_s: NonNegative | None = None
    wait_signals_s: NonNegative | None = None
    wait_marked_s: NonNegative | None = None
    wait_unmarked_s: NonNegative | None = None
    sensitivity_speeds: Annotated[list[float | str], AfterValidator(check_speeds)] | None = None

    def walk_model(self, default: str = WALK_MODELS[0]) -> WalkModel:
        """The walking model (``model``, else ``default``: a standards profile's) with its parameters (those not
        given keep :class:`WalkModel`'s defaults)."""
        given = {k: getattr(self, k) for k in ("step_s", "wait_signals_s", "wait_marked_s", "wait_unmarked_s")
                 if getattr(self, k) is not None}
        return WalkModel(name=self.model or default, avoid_steps=self.avoid_steps, dem=self.dem, **given)

    @model_validator(mode="after")
    def _one_speed(self):
        return _raise_first(self, _walking_problems(self.__dict__))

    @property
    def walk_speed_mps(self) -> float:
        if self.speed_mps is not None:
            return float(self.speed_mps)
        return SPEED_PRESETS_MPS[self.preset or "typical"]  # "typical" is DEFAULT_WALK_SPEED_MPS

    @property
    def speeds_mps(self) -> tuple[float, ...]:
        """The speeds the sensitivity table compares (``sensitivity_speeds``), else only the main speed."""
        return tuple(self.sensitivity_speeds) if self.sensitivity_speeds else (self.walk_speed_mps,)


class SuggestSpec(_Spec):
    """Site suggestion after the run (:func:`carecircle.plan.siting.suggest_sites`)."""

    method: Literal[SUGGEST_METHODS] = SUGGEST_METHODS[0]
    new_sites: Annotated[int, Field(ge=1)] = DEFAULT_NEW_SITES
    target: Share | None = None
    minutes: Annotated[float, Field(gt=0)] | None = None
    candidates: ExistingFile | None = None
    spacing_m: Annotated[float, Field(gt=0)] = DEFAULT_SPACING_M
    cost_col: str | None = None
    budget: Annotated[float, Field(gt=0)] | None = None
    site_capacity_col: str | None = None
    time_limit_s: Annotated[float, Field(gt=0)] = DEFAULT_TIME_LIMIT_S
    exclude: ExistingFile | None = None

    @model_validator(mode="after")
    def _budget(self):
        return _raise_first(self, _suggest_problems(self.__dict__))


class AccessibilitySpec(_Spec):
    """Capacity-aware accessibility (:func:`carecircle.core.access.measure_accessibility`): the 2SFCA variant, the
    facility column counted as supply, catchment and band weights, and the level scores are judged against."""

    method: Literal[ACCESS_METHODS] = ACCESS_METHODS[0]
    population: Literal["elderly", "children"] = "elderly"
    supply_col: str = DEFAULT_SUPPLY_COL
    catchment_min: Annotated[float, Field(gt=0)] | None = None
    band_weights: Annotated[list[float], AfterValidator(check_band_weights)] | None = None
    level: NonNegative | None = None


class RegionSpec(_Spec):
    """A region cut from a larger network (one district of a city, :mod:`carecircle.batch`): its boundary, and how
    far beyond it the network and the facilities reach. Only the elderly living inside the boundary are counted
    (communities by their interior point, demand points by location); people near the edge may walk to a
    facility across it."""

    boundary: InputLayer
    buffer_m: NonNegative | None = None


class OutputsSpec(_Spec):
    """Where and how results are written."""

    folder: ResolvedPath | None = None
    lang: Literal[LANGS] | None = None
    title: str | None = None
    isochrones: bool = True
    per_facility_isochrones: bool = True


class StudyConfig(_Spec):
    """One study: where, which inputs, how people walk, which thresholds and targets, what to suggest, what to
    write. Frozen; every key has its default here (see ``carecircle init`` for a commented example).

    ``path`` is the scenario file it was read from (``None`` when built from CLI flags or in Python); relative
    paths in it have already been resolved against that file's folder. Values left unset that a standards
    profile supplies are resolved by :attr:`thresholds`, :attr:`target` and :attr:`lang`.
    """

    name: str | None = None
    description: str | None = None
    area: AreaSpec | None = None
    inputs: InputsSpec = Field(default_factory=InputsSpec)
    columns: ColumnsSpec = Field(default_factory=ColumnsSpec)
    facilities: FacilitiesSpec = Field(default_factory=FacilitiesSpec)
    walking: WalkingSpec = Field(default_factory=WalkingSpec)
    thresholds_min: Annotated[list[float], AfterValidator(check_minutes)] | None = None
    distances_m: Annotated[list[float], AfterValidator(check_metres)] | None = None
    target_share: Share | None = None
    standard: str | None = None
    suggest: SuggestSpec | None = None
    accessibility: AccessibilitySpec | None = None
    region: RegionSpec | None = None
    outputs: OutputsSpec = Field(default_factory=OutputsSpec)

    _path: Path | None = PrivateAttr(default=None)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not safe_name(value):
            raise ValueError(f"{value!r} has no letter or digit to name an output folder by")
        return value

    @field_validator("standard")
    @classmethod
    def _standard(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if _looks_like_path(value):
            value = str(_existing_file(Path(value), info))
        try:
            load_profile(value)
        except InputError as exc:
            raise ValueError(str(exc).rstrip(".")) from None
        return value

    @model_validator(mode="after")
    def _inputs_for_area(self):
        return _raise_first(self, _scenario_problems({"area": self.area, "inputs": self.inputs.__dict__,
                                                      "thresholds_min": self.thresholds_min,
                                                      "distances_m": self.distances_m}))

    @property
    def path(self) -> Path | None:
        return self._path

    # -- defaults resolved from the standards profile: here and nowhere else

    @cached_property
    def profile(self) -> Profile | None:
        """The standards profile named by ``standard`` (``None`` without one)."""
        return load_profile(self.standard) if self.standard is not None else None

    @property
    def thresholds(self) -> tuple[float, ...]:
        """Thresholds, minutes: ``thresholds_min``, ``distances_m`` / 60 / speed, the profile's, else 5, 10, 15."""
        return self.thresholds_at(self.walking.walk_speed_mps)

    def thresholds_at(self, walk_speed_mps: float) -> tuple[float, ...]:
        """:attr:`thresholds` at a walking speed (only distance thresholds depend on it)."""
        if self.distances_m is not None:
            return tuple(m / 60.0 / walk_speed_mps for m in self.distances_m)
        if self.thresholds_min is not None:
            return tuple(self.thresholds_min)
        return tuple(self.profile.thresholds_min) if self.profile is not None else DEFAULT_THRESHOLDS_MIN

    @property
    def target(self) -> float:
        """Target share of the elderly within the largest threshold: ``target_share``, else the profile's, else 0.9."""
        if self.target_share is not None:
            return self.target_share
        return self.profile.target_share if self.profile is not None else DEFAULT_TARGET_SHARE

    @property
    def lang(self) -> str:
        """Language of labels and headers: ``outputs.lang``, else the profile's, else English."""
        if self.outputs.lang is not None:
            return self.outputs.lang
        return self.profile.lang if self.profile is not None else DEFAULT_LANG

    @property
    def walk_model(self) -> WalkModel:
        """The walking model: ``walking.model``, else the profile's ``walk_model``, else ``plain``."""
        default = self.profile.walk_model if self.profile is not None and self.profile.walk_model else WALK_MODELS[0]
        return self.walking.walk_model(default)

    @property
    def suggest_minutes(self) -> float:
        """The threshold new sites are chosen for: ``suggest.minutes``, else the largest threshold."""
        given = self.suggest.minutes if self.suggest is not None else None
        return given if given is not None else max(self.thresholds)

    @property
    def suggest_target(self) -> float:
        """The set-cover target: ``suggest.target``, else :attr:`target`."""
        given = self.suggest.target if self.suggest is not None else None
        return given if given is not None else self.target

    @property
    def access_target(self) -> float | None:
        """The profile's target for the accessibility supply, per 1,000 elderly: its beds-per-1,000 target when
        the supply is ``beds`` (``None`` otherwise, or without a profile)."""
        spec = self.accessibility
        if spec is None or self.profile is None or spec.supply_col != "beds" or spec.population != "elderly":
            return None
        found = [t.min_beds for t in self.profile.targets if t.kind == "beds_per_1000_elderly"]
        return float(max(found)) if found else None

    @property
    def region_buffer_m(self) -> float:
        """How far the network and facilities reach beyond ``region.boundary``, metres: ``region.buffer_m``,
        else the walk of the largest threshold at the study's speed (15 min at 1.0 m/s: 900 m)."""
        given = self.region.buffer_m if self.region is not None else None
        return float(given) if given is not None else max(self.thresholds) * 60.0 * self.walking.walk_speed_mps

    @property
    def area_value(self) -> Area:
        """The study area (the bundled demo when ``area`` is left out)."""
        return self.area.to_area() if self.area is not None else Area()

    @property
    def reader_columns(self) -> dict[str, str]:
        """Column-name options given (``columns``) and the coordinate system of point files (``crs``)."""
        out = {k: v for k, v in self.columns.model_dump().items() if v is not None}
        out["crs"] = self.facilities.crs
        return out

    @classmethod
    def build(cls, data: dict[str, Any], *, folder: str | os.PathLike | None = None,
              names: dict[str, str] | None = None) -> StudyConfig:
        """A checked configuration from a mapping shaped like a scenario file; one InputError lists every problem.

        ``folder`` resolves relative paths (default: the working folder); ``names`` renames key paths in the
        messages (the CLI names its flags: ``{"walking.speed_mps": "--speed"}``).
        """
        context = {"folder": Path(folder) if folder is not None else Path(".")}
        cross = cross_problems(data)
        try:
            config = cls.model_validate(data, context=context)
            found: list[tuple[tuple, str]] = []
        except ValidationError as exc:
            config = None
            found = [p for p in map(describe_error, exc.errors()) if p[1] not in {msg for _, msg in cross}]
        problems = list(dict.fromkeys(f"{(names or {}).get(keypath(loc), keypath(loc))}: {msg}"
                                      for loc, msg in [*found, *cross]))
        if problems or config is None:
            raise InputError("; ".join(problems) + ".")
        return config

    @property
    def label(self) -> str:
        """The scenario's name: ``name``, else the file name without extension, else the area's name."""
        if self.name:
            return self.name
        if self._path is not None:
            return self._path.stem
        return self.area_value.name()

    def output_folder(self, out_dir: str | os.PathLike | None = None) -> Path:
        """``out_dir`` if given, else ``outputs.folder``, else ``maps/<name>`` (relative to the working folder)."""
        if out_dir is not None:
            return Path(out_dir)
        if self.outputs.folder is not None:
            return self.outputs.folder
        return Path("maps") / safe_name(self.label)


# Checks across keys. Each takes a mapping (the raw YAML, or a model's values) and returns (key path, message)
# pairs; the models raise the first, and loading also runs them on the raw YAML, so that they are reported
# together with the errors of single keys (pydantic skips a model's own check once one of its keys fails).


def _raise_first(model, problems: list[tuple[tuple, str]]):
    if problems:
        raise ValueError(problems[0][1])
    return model


def _given(d: dict, key: str) -> bool:
    return isinstance(d, dict) and d.get(key) is not None


def _area_problems(d: dict) -> list[tuple[tuple, str]]:
    given = [k for k in ("place", "bbox", "polygon", "network") if _given(d, k)]
    if len(given) == 1:
        return []
    found = f"found {' and '.join(given)}" if given else "found none"
    return [((), f"give exactly one of place, bbox, polygon or network ({found}), or leave out area "
                 "for the bundled demo")]


def _scenario_problems(d: dict) -> list[tuple[tuple, str]]:
    if _given(d, "thresholds_min") and _given(d, "distances_m"):
        return [(("distances_m",), "give thresholds_min (minutes) or distances_m (metres), not both")]
    if d.get("area") is None:
        return []
    inputs = d.get("inputs") if isinstance(d.get("inputs"), dict) else {}
    if not _given(inputs, "facilities"):
        return [(("area",), "with an area, give its facilities too (inputs.facilities, --facilities): the demo "
                            "facilities belong to the demo")]
    if not (_given(inputs, "communities") or _given(inputs, "demand")):
        return [(("area",), "with an area, give its communities or demand points too (inputs.communities or "
                            "inputs.demand, --communities or --demand)")]
    return []


def _walking_problems(d: dict) -> list[tuple[tuple, str]]:
    if _given(d, "speed_mps") and _given(d, "preset"):
        return [(("preset",), "give speed_mps or preset, not both")]
    return []


def _suggest_problems(d: dict) -> list[tuple[tuple, str]]:
    if _given(d, "budget") and not _given(d, "cost_col"):
        return [(("budget",), "budget needs cost_col (the candidates' cost column)")]
    if (_given(d, "cost_col") or _given(d, "site_capacity_col")) and not _given(d, "candidates"):
        key = "cost_col" if _given(d, "cost_col") else "site_capacity_col"
        return [((key,), "cost_col and site_capacity_col are columns of a candidates file; give candidates")]
    return []


def _facilities_problems(d: dict) -> list[tuple[tuple, str]]:
    problems = []
    add = d.get("add") if isinstance(d.get("add"), list) else []
    ids = [str(a["facility_id"]) for a in add if _given(a, "facility_id")]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        problems.append((("add",), f"facility ids added more than once: {', '.join(twice)}"))
    remove = d.get("remove") if isinstance(d.get("remove"), list) else []
    change = d.get("change") if isinstance(d.get("change"), dict) else {}
    both = sorted({str(r) for r in remove} & {str(c) for c in change})
    if both:
        problems.append((("remove",), f"facilities both removed and changed: {', '.join(both)}"))
    return problems


def _change_problems(d: dict) -> list[tuple[tuple, str]]:
    if not isinstance(d, dict):
        return []
    if not d:
        return [((), f"nothing to change; give one of {', '.join(FACILITY_FIELDS)}")]
    if _given(d, "lon") != _given(d, "lat"):
        return [((), "give lon and lat together to move a facility")]
    return []


def cross_problems(data: dict) -> list[tuple[tuple, str]]:
    """Every check across keys, on the raw YAML."""
    found = [(loc, msg) for loc, msg in _scenario_problems(data)]
    for key, check in (("area", _area_problems), ("walking", _walking_problems), ("suggest", _suggest_problems),
                       ("facilities", _facilities_problems)):
        if isinstance(data.get(key), dict):
            found += [((key, *loc), msg) for loc, msg in check(data[key])]
    change = (data.get("facilities") or {}).get("change") if isinstance(data.get("facilities"), dict) else None
    if isinstance(change, dict):
        for fid, values in change.items():
            found += [(("facilities", "change", str(fid), *loc), msg) for loc, msg in _change_problems(
                values if values is not None else {})]
    return found


def _check_crs(value: str) -> str:
    try:
        return normalise_crs(str(value))
    except InputError as exc:
        raise ValueError(str(exc).removeprefix("crs ").rstrip(".")) from None


def _looks_like_path(value: str) -> bool:
    return value.lower().endswith((".yaml", ".yml")) or "/" in value or os.sep in value


def safe_name(text: str) -> str:
    """``text`` made safe as a folder name: runs of anything but letters, digits, ``.``, ``-`` and ``_`` become
    ``_`` (so no ``/`` or ``..`` survives); empty when nothing is left."""
    return re.sub(r"\.{2,}", ".", re.sub(r"[^\w.-]+", "_", text)).strip("._")



def _model_at(loc: Sequence) -> type[BaseModel] | None:
    """The schema class at key path ``loc`` (to list the keys allowed where an unknown one was found)."""
    ann: Any = StudyConfig
    for part in loc:
        ann = _unwrap(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            field = ann.model_fields.get(str(part))
            if field is None:
                return None
            ann = field.annotation
        elif typing.get_origin(ann) in (list, dict):
            ann = typing.get_args(ann)[-1]
        else:
            return None
    ann = _unwrap(ann)
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def _unwrap(ann):
    """``X`` from ``Annotated[X, ...]``, ``X | None`` and ``Optional[X]``."""
    while True:
        if typing.get_origin(ann) is typing.Annotated:
            ann = typing.get_args(ann)[0]
        elif typing.get_origin(ann) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if len(args) != 1:
                return ann
            ann = args[0]
        else:
            return ann


def keypath(loc: Sequence) -> str:
    """``walking.speed_mps``, ``facilities.add[0].lon``: a key path as a user writes it."""
    text = ""
    for part in loc:
        if part == "[key]":
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def describe_error(err: dict) -> tuple[tuple, str]:
    """(key path, message) of one pydantic error, in a planner's words."""
    loc = tuple(err["loc"])
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        known = list(model.model_fields) if model is not None else []
        msg = f"unknown key {loc[-1]!r}"
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if close:
            msg += f" (did you mean {close[0]!r}?)"
        elif known:
            msg += f" (known keys here: {', '.join(known)})"
    elif kind == "missing":
        msg = "required key is missing"
    elif kind == "literal_error":
        options = re.sub(r"'([^']*)'", r"\1", err["ctx"]["expected"]).replace(" or ", ", ")
        msg = f"{value!r} is not one of {options}"
    elif kind in ("value_error", "assertion_error"):
        msg = str(err["ctx"]["error"])
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        msg = f"{value!r} must be {err['msg'].removeprefix('Input should be ')}"
    elif kind in ("too_short", "too_long"):
        msg = err["msg"].replace("List", "the list").replace("Input", "the value")
    elif kind.endswith("_parsing") or kind.endswith("_type"):
        wanted = {"float": "a number", "int": "a whole number", "bool": "true or false", "string": "text",
                  "list": "a list ([a, b] or lines starting with '- ')", "dict": "a mapping of keys",
                  "model": "a mapping of keys", "model_attributes": "a mapping of keys"}
        what = next((v for k, v in wanted.items() if kind.startswith(k)), err["msg"].lower())
        msg = f"{value!r} is not {what}" if not isinstance(value, dict | list) else f"needs {what}"
    else:
        msg = err["msg"][0].lower() + err["msg"][1:]
    return loc, msg


