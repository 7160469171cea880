"""Scenario files: one YAML file describes a whole study (area, inputs, walking, targets, changes, outputs).

An analyst writes what they want to know — "what if we open these two stations and close that one", "where
would five new sites go" — as a small YAML file and runs it with ``carecircle run plan.yaml``. This module
checks such files completely before any work starts and runs them through the ordinary pipeline::

    scenarios = load_scenarios(["baseline.yaml", "plan.yaml"])   # every problem at once, with its line
    runs = [run_scenario(s, cache_dir="~/.cache/carecircle") for s in scenarios]

Validation collects *every* problem of every file — unknown keys, wrong types, values out of range, missing
files, unknown facility ids — each with its file, line number and key path, e.g.
``plan.yaml line 7, facilities.crs: 'gcj-2' is not one of wgs84, gcj02, bd09 or an EPSG code``, and raises
them together as one :class:`~carecircle.errors.InputError`. Line numbers come from the node marks of
PyYAML's composed document. Relative paths in a scenario resolve against the folder of the scenario file.

Several scenarios run in one process load each walking network only once (see :func:`run_scenario`).
:func:`example_scenario` returns a commented example showing every option; :func:`write_example` saves it.
"""

from __future__ import annotations

import atexit
import dataclasses
import difflib
import logging
import os
import re
import shutil
import tempfile
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
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

from carecircle.errors import CarecircleError, InputError
from carecircle.core.travel import SPEED_PRESETS_MPS

if TYPE_CHECKING:
    import geopandas as gpd

    from carecircle.core.network import Progress
    from carecircle.pipeline import Area, StudyInputs, StudyResult
    from carecircle.plan.siting import Suggestion

log = logging.getLogger(__name__)

#: Coordinate systems of facility coordinates besides EPSG codes (aliases → canonical name).
_CRS_NAMES = {"wgs84": "wgs84", "wgs-84": "wgs84", "gcj02": "gcj02", "gcj-02": "gcj02", "bd09": "bd09",
              "bd-09": "bd09"}

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
#: A path resolved against the scenario's folder (an output folder need not exist yet).
ResolvedPath = Annotated[Path, AfterValidator(_resolved)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


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
        from carecircle.core.network import check_bbox

        return list(check_bbox(value))

    @model_validator(mode="after")
    def _exactly_one(self):
        return _raise_first(self, _area_problems(self.__dict__))

    def to_area(self) -> Area:
        from carecircle.pipeline import Area

        return Area(network=self.network, place=self.place, bbox=tuple(self.bbox) if self.bbox else None,
                    polygon=self.polygon)


class InputsSpec(_Spec):
    """Input files; with no area they default to the bundled demo files."""

    facilities: ExistingFile | None = None
    communities: ExistingFile | None = None
    demand: ExistingFile | None = None
    buildings: ExistingFile | None = None
    subdistricts: ExistingFile | None = None
    demand_method: Literal["buildings", "nodes", "centroid"] = "buildings"


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
    from carecircle.io.facility_types import normalise_types

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
    """Walking speed (m/s, or a preset) and how far a point may lie from the network."""

    speed_mps: Annotated[float, Field(ge=0.1, le=3.0)] | None = None
    preset: Literal["slow", "typical", "brisk"] | None = None
    max_snap_m: Annotated[float, Field(gt=0)] = 300.0

    @model_validator(mode="after")
    def _one_speed(self):
        return _raise_first(self, _walking_problems(self.__dict__))

    @property
    def walk_speed_mps(self) -> float:
        if self.speed_mps is not None:
            return float(self.speed_mps)
        return SPEED_PRESETS_MPS[self.preset or "typical"]


class SuggestSpec(_Spec):
    """Site suggestion after the run (:func:`carecircle.plan.siting.suggest_sites`)."""

    method: Literal["mclp", "set-cover", "p-median"] = "mclp"
    new_sites: Annotated[int, Field(ge=1)] = 5
    target: Share | None = None
    minutes: Annotated[float, Field(gt=0)] | None = None
    candidates: ExistingFile | None = None
    spacing_m: Annotated[float, Field(gt=0)] = 150.0
    cost_col: str | None = None
    budget: Annotated[float, Field(gt=0)] | None = None
    site_capacity_col: str | None = None
    time_limit_s: Annotated[float, Field(gt=0)] = 30.0
    exclude: ExistingFile | None = None

    @model_validator(mode="after")
    def _budget(self):
        return _raise_first(self, _suggest_problems(self.__dict__))


class OutputsSpec(_Spec):
    """Where and how results are written."""

    folder: ResolvedPath | None = None
    lang: Literal["en", "zh"] | None = None
    title: str | None = None
    isochrones: bool = True


class Scenario(_Spec):
    """One study described by a YAML scenario file (see :func:`example_scenario` for every key).

    ``path`` is the file it was read from (``None`` when built in Python); relative paths in it have already
    been resolved against that file's folder.
    """

    name: str | None = None
    description: str | None = None
    area: AreaSpec | None = None
    inputs: InputsSpec = Field(default_factory=InputsSpec)
    columns: ColumnsSpec = Field(default_factory=ColumnsSpec)
    facilities: FacilitiesSpec = Field(default_factory=FacilitiesSpec)
    walking: WalkingSpec = Field(default_factory=WalkingSpec)
    thresholds_min: Annotated[list[Annotated[float, Field(gt=0, le=120)]], Field(min_length=1)] | None = None
    target_share: Share | None = None
    standard: str | None = None
    suggest: SuggestSpec | None = None
    outputs: OutputsSpec = Field(default_factory=OutputsSpec)

    _path: Path | None = PrivateAttr(default=None)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _safe_name(value):
            raise ValueError(f"{value!r} has no letter or digit to name an output folder by")
        return value

    @field_validator("thresholds_min")
    @classmethod
    def _thresholds(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return None
        if len(set(value)) != len(value):
            raise ValueError(f"thresholds repeat: {value}")
        return sorted(value)

    @field_validator("standard")
    @classmethod
    def _standard(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if _looks_like_path(value):
            value = str(_existing_file(Path(value), info))
        from carecircle.plan.standards import load_profile

        try:
            load_profile(value)
        except InputError as exc:
            raise ValueError(str(exc).rstrip(".")) from None
        return value

    @model_validator(mode="after")
    def _inputs_for_area(self):
        return _raise_first(self, _scenario_problems({"area": self.area, "inputs": self.inputs.__dict__}))

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def label(self) -> str:
        """The scenario's name: ``name``, else the file name without extension, else the area's name."""
        if self.name:
            return self.name
        if self._path is not None:
            return self._path.stem
        return self.area.to_area().name() if self.area is not None else "helsinki"

    def output_folder(self, out_dir: str | os.PathLike | None = None) -> Path:
        """``out_dir`` if given, else ``outputs.folder``, else ``maps/<name>`` (relative to the working folder)."""
        if out_dir is not None:
            return Path(out_dir)
        if self.outputs.folder is not None:
            return self.outputs.folder
        return Path("maps") / _safe_name(self.label)


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
    if d.get("area") is None:
        return []
    inputs = d.get("inputs") if isinstance(d.get("inputs"), dict) else {}
    if not _given(inputs, "facilities"):
        return [(("area",), "with an area, give inputs.facilities too (the demo facilities belong to the demo)")]
    if not (_given(inputs, "communities") or _given(inputs, "demand")):
        return [(("area",), "with an area, give inputs.communities or inputs.demand too")]
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


def _cross_problems(data: dict) -> list[tuple[tuple, str]]:
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
    from carecircle.io.coords import normalise_crs

    try:
        return normalise_crs(str(value))
    except InputError as exc:
        raise ValueError(str(exc).removeprefix("crs ").rstrip(".")) from None


def _looks_like_path(value: str) -> bool:
    return value.lower().endswith((".yaml", ".yml")) or "/" in value or os.sep in value


def _safe_name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("._")


# ------------------------------------------------------------------------------------------- loading


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Read and check one scenario file; raise one :class:`InputError` listing every problem.

    Examples
    --------
    >>> s = load_scenario("data/scenarios/plan.yaml")  # doctest: +SKIP
    >>> s.walking.walk_speed_mps, s.thresholds_min  # doctest: +SKIP
    (1.0, [5.0, 10.0, 15.0])
    """
    return load_scenarios([path])[0]


def load_scenarios(paths: Iterable[str | os.PathLike]) -> list[Scenario]:
    """Read and check several scenario files; every problem of every file is reported in one InputError.

    Problems are "``file line N, key.path: what is wrong``", joined with ``"; "``. Besides the schema this
    checks that input files exist, that removed or changed facility ids are in the facility file, and that
    no two scenarios write into the same output folder. Nothing heavy runs here (no network is loaded).
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no scenario files given; write one with 'carecircle init'.")
    scenarios: list[Scenario] = []
    problems: list[str] = []
    for path in paths:
        scenario, found = _load_one(path)
        problems += found
        if scenario is not None:
            scenarios.append(scenario)
    if not problems:
        seen: dict[Path, Path] = {}
        for s in scenarios:
            folder = s.output_folder().resolve()
            if folder in seen:
                problems.append(f"{seen[folder].name} and {s.path.name} both write into {folder}; "
                                "set a different outputs.folder or name in one of them")
            seen[folder] = s.path
    if problems:
        raise InputError("; ".join(problems))
    return scenarios


def _load_one(path: Path) -> tuple[Scenario | None, list[str]]:
    label = path.name
    if not path.is_file():
        return None, [f"scenario file '{path}' does not exist"]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{label}: cannot read the scenario ({exc}); save it as UTF-8 text"]
    try:
        node, data = _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        return None, [f"{label}{where}: not valid YAML: {what}"]
    except yaml.YAMLError as exc:
        return None, [f"{label}: not valid YAML: {' '.join(str(exc).split())}"]
    problems = [f"{label} line {line}, {key}: {msg}" for line, key, msg in _duplicate_keys(node)]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        return None, [*problems, f"{label} line {line}: a scenario is a mapping of keys (name:, area:, inputs: …), "
                                 f"not a {type(data).__name__}"]
    context = {"folder": path.resolve().parent}
    cross = _cross_problems(data)  # also raised by the models, at the section's key: keep these, more precise
    try:
        scenario = Scenario.model_validate(data, context=context)
        found = []
    except ValidationError as exc:
        scenario = None
        found = [p for p in map(_describe_error, exc.errors()) if p[1] not in {msg for _, msg in cross}]
    if scenario is not None:
        scenario._path = path.resolve()
    problems += [f"{label} line {_line(node, loc)}, {_keypath(loc)}: {msg}"
                 for loc, msg in [*found, *cross, *_facility_id_problems(data, context)]]
    problems = sorted(dict.fromkeys(problems), key=_line_of)  # once each, in the order of the file
    return (scenario if not problems else None), problems


def _line_of(problem: str) -> int:
    found = re.search(r" line (\d+)", problem)
    return int(found.group(1)) if found else 0


def _parse(text: str):
    """The composed node tree (for line numbers) and the constructed data, from one parse."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def _duplicate_keys(node, loc: tuple = ()) -> list[tuple[int, str, str]]:
    found = []
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else None
            if k in seen:
                found.append((key.start_mark.line + 1, _keypath((*loc, k)), "key given twice (the last one wins in "
                              "YAML, which is rarely meant); keep one"))
            seen.add(k)
            found += _duplicate_keys(value, (*loc, k))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found += _duplicate_keys(item, (*loc, i))
    return found


def _node_at(root, loc: Sequence):
    """The node a key path points to: the key's node for a mapping key (its line is where the key is
    written), the item for a list index; for a path that is not in the document (a missing key), the
    deepest part that is."""
    node, found = root, root
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)),
                         None)
            if match is None:
                return found
            found, node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            found = node = node.value[part]
        else:
            return found
    return found


def _line(root, loc: Sequence) -> int:
    return 1 if root is None else _node_at(root, loc).start_mark.line + 1


def _keypath(loc: Sequence) -> str:
    text = ""
    for part in loc:
        if part == "[key]":
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _model_at(loc: Sequence) -> type[BaseModel] | None:
    """The schema class at key path ``loc`` (to list the keys allowed where an unknown one was found)."""
    ann: Any = Scenario
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


def _describe_error(err: dict) -> tuple[tuple, str]:
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


# --------------------------------------------------------------------------------- facility changes


def _facility_id_problems(data: dict, context: dict) -> list[tuple[tuple, str]]:
    """Removed/changed ids absent from the facility file, added ids already in it (when the file is readable)."""
    section = data.get("facilities")
    if not isinstance(section, dict) or not any(section.get(k) for k in ("remove", "change", "add")):
        return []
    try:
        spec = FacilitiesSpec.model_validate(section, context=context)
        inputs = InputsSpec.model_validate(data.get("inputs") or {}, context=context)
        columns = ColumnsSpec.model_validate(data.get("columns") or {}, context=context)
    except (ValidationError, TypeError):
        return []  # reported by the full validation
    if data.get("area") is not None and inputs.facilities is None:
        return []  # reported by the full validation
    try:
        existing = _read_facilities(inputs, columns, spec.crs)
    except CarecircleError as exc:
        return [(("inputs", "facilities"), str(exc).rstrip("."))]
    ids = set(existing["facility_id"].astype(str))
    name = inputs.facilities.name if inputs.facilities is not None else "the demo facilities"
    problems = []
    for i, fid in enumerate(spec.remove):
        if fid not in ids:
            problems.append((("facilities", "remove", i), f"no facility {fid!r} in {name} ({_known(ids)})"))
    for fid in spec.change:
        if fid not in ids:
            problems.append((("facilities", "change", fid), f"no facility {fid!r} in {name} ({_known(ids)})"))
    removed = set(spec.remove)
    for i, add in enumerate(spec.add):
        if add.facility_id in ids and add.facility_id not in removed:
            problems.append((("facilities", "add", i, "facility_id"),
                             f"{add.facility_id!r} is already a facility in {name}; choose a new id"))
    moved = [{"facility_id": fid, "lon": c.lon, "lat": c.lat} for fid, c in spec.change.items() if c.lon is not None]
    for key, rows in (("add", [a.model_dump() for a in spec.add]), ("change", moved)):
        if rows:
            try:  # coordinates checked as the run will read them (range, GCJ-02 outside China, ...)
                _points(rows, spec.crs)
            except InputError as exc:
                problems.append((("facilities", key), str(exc).rstrip(".")))
    return problems


def _known(ids: set[str], most: int = 10) -> str:
    shown = sorted(ids)
    return "known: " + ", ".join(shown[:most]) + (" …" if len(shown) > most else "")


def _read_facilities(inputs: InputsSpec, columns: ColumnsSpec, crs: str) -> gpd.GeoDataFrame:
    from carecircle.io.readers import read_facilities
    from carecircle.pipeline import _pick, default_data_dir

    path = inputs.facilities if inputs.facilities is not None else default_data_dir() / "facilities.csv"
    return read_facilities(path, **_pick(_columns(columns, crs), "facility_id_col", "name_col", "type_col",
                                         "capacity_col", "area_col", "beds_col", "nursing_beds_col", "lon_col",
                                         "lat_col", "crs"))


def _columns(columns: ColumnsSpec, crs: str) -> dict:
    out = {k: v for k, v in columns.model_dump().items() if v is not None}
    out["crs"] = crs
    return out


def scenario_facilities(scenario: Scenario) -> gpd.GeoDataFrame:
    """The scenario's facilities: the facility file (or the demo's) with its add / remove / change applied.

    Added and moved facilities are read exactly like the facility file (same coordinate conversion from
    ``facilities.crs``, same type names), so they are indistinguishable from facilities that were there.
    The result is a new GeoDataFrame in EPSG:4326 (existing facilities first, in file order, then the added).
    """
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    spec = scenario.facilities
    existing = _read_facilities(scenario.inputs, scenario.columns, spec.crs)
    ids = existing["facility_id"].astype(str)
    unknown = [f for f in [*spec.remove, *spec.change] if f not in set(ids)]
    if unknown:
        raise InputError(f"facilities not in the facility file: {', '.join(unknown)}; check facilities.remove and "
                         "facilities.change.")
    out = existing[~ids.isin(spec.remove).to_numpy()].copy()
    for fid, change in spec.change.items():
        row = out.index[out["facility_id"].astype(str) == fid]
        values = change.model_dump(exclude_unset=True)
        for key in ("capacity", "beds", "nursing_beds", "floor_area_m2"):
            if key in values:
                out.loc[row, key] = np.nan if values[key] is None else float(values[key])
        for key in ("name", "type"):
            if key in values:
                out.loc[row, key] = values[key]
        if change.lon is not None:
            moved = _points([{"facility_id": fid, "lon": change.lon, "lat": change.lat}], spec.crs)
            out.loc[row, "geometry"] = moved.geometry.iloc[0]
    if spec.add:
        added = _points([a.model_dump() for a in spec.add], spec.crs)
        out = pd.concat([out, added.reindex(columns=out.columns)], ignore_index=True)
    log.info("scenario: facilities %d read, %d added, %d removed, %d changed", len(existing), len(spec.add),
             len(spec.remove), len(spec.change))
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry="geometry", crs="EPSG:4326")


def _points(rows: list[dict], crs: str) -> gpd.GeoDataFrame:
    """Facility rows read through :func:`carecircle.io.readers.read_facilities` (a small temporary CSV)."""
    import pandas as pd

    from carecircle.io.readers import read_facilities

    frame = pd.DataFrame(rows)
    with tempfile.TemporaryDirectory(prefix="carecircle-") as tmp:
        file = Path(tmp) / "scenario_facilities.csv"
        frame.to_csv(file, index=False, encoding="utf-8")
        try:
            return read_facilities(file, crs=crs)
        except InputError as exc:
            what = str(exc).replace(f"{file.name}: ", "")  # the temporary file means nothing to the user
            raise InputError(f"facilities added or moved by the scenario: {what}") from exc


# ----------------------------------------------------------------------------------------------- running


@dataclass(frozen=True)
class ScenarioRun:
    """What :func:`run_scenario` produced.

    Attributes
    ----------
    scenario : the scenario run.
    study : the coverage study (with the scenario's facility changes applied), named by the scenario.
    suggestion : suggested sites when the scenario has a ``suggest`` section, else ``None``.
    folder : the output folder.
    written : file name → path of every file written (``suggest/…`` for the suggestion's files); empty when
        run with ``write=False``.
    """

    scenario: Scenario
    study: StudyResult
    suggestion: Suggestion | None
    folder: Path
    written: dict[str, Path]


def study_kwargs(scenario: Scenario, *, facilities=None) -> dict:
    """Keyword arguments of :func:`carecircle.pipeline.run_study` for ``scenario`` (``area`` excluded).

    ``facilities`` overrides the facility input (e.g. the GeoDataFrame of :func:`scenario_facilities`).
    """
    inputs = scenario.inputs
    kwargs: dict[str, Any] = {
        "facilities": facilities if facilities is not None else inputs.facilities,
        "communities": inputs.communities,
        "demand": inputs.demand,
        "buildings": inputs.buildings,
        "demand_method": inputs.demand_method,
        "thresholds_min": tuple(scenario.thresholds_min) if scenario.thresholds_min is not None else None,
        "walk_speed_mps": scenario.walking.walk_speed_mps,
        "max_snap_m": scenario.walking.max_snap_m,
        "target_share": scenario.target_share,
        "with_isochrones": scenario.outputs.isochrones,
        "columns": _columns(scenario.columns, scenario.facilities.crs),
        "lang": scenario.outputs.lang,
    }
    if scenario.standard is not None:
        kwargs["standard"] = scenario.standard
    if inputs.subdistricts is not None:
        kwargs["subdistricts"] = inputs.subdistricts
    return kwargs


def run_scenario(
    scenario: Scenario,
    *,
    out_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
    quiet: bool = False,
    write: bool = True,
) -> ScenarioRun:
    """Run a checked scenario: the study, then the site suggestion if asked, then write every output.

    Parameters
    ----------
    scenario : from :func:`load_scenario` (or built in Python).
    out_dir : output folder; default ``outputs.folder``, else ``maps/<name>``. The study's files go there
        (:func:`carecircle.outputs.export.write_outputs`), the suggestion's into ``suggest/`` inside it
        (:func:`carecircle.outputs.export.write_suggestion`); each set is written all or nothing, and only after
        everything has been computed, so a failed run leaves earlier results untouched.
    cache_dir : network cache folder. With ``None`` networks are still kept for the rest of the process
        (in a temporary folder removed at exit), so several scenarios on one area load it once.
    progress : callback receiving a description of each step (and ``done, total`` of long ones; see
        :data:`carecircle.core.network.Progress`).
    quiet : no progress callbacks (the CLI's ``--quiet``).
    write : write the outputs (``False``: only compute, e.g. for a comparison).

    Returns
    -------
    ScenarioRun
    """
    from carecircle.pipeline import Area, run_study

    step = (lambda _msg: None) if quiet or progress is None else progress
    cache = Path(cache_dir).expanduser() if cache_dir is not None else _process_cache()
    area = scenario.area.to_area() if scenario.area is not None else Area()
    label = scenario.path.name if scenario.path is not None else scenario.label
    facilities = scenario_facilities(scenario) if scenario.facilities.has_changes else None
    exclude = candidates = None
    if scenario.suggest is not None:  # read before the heavy work, so a bad file fails fast
        exclude, candidates = _suggest_inputs(scenario)

    step(f"{label}: running the study")
    study = run_study(area, **study_kwargs(scenario, facilities=facilities), cache_dir=cache,
                      progress=None if quiet else progress)
    study = dataclasses.replace(study, name=scenario.label, inputs=_describe_inputs(scenario, study.inputs))
    suggestion = None
    if scenario.suggest is not None:
        step(f"{label}: choosing new sites")
        suggestion = _suggest(scenario, study, candidates=candidates, exclude=exclude,
                              progress=None if quiet else progress)

    folder = scenario.output_folder(out_dir)
    written: dict[str, Path] = {}
    if write:
        from carecircle.outputs.export import write_outputs, write_suggestion

        step(f"{label}: writing map and tables")
        out = scenario.outputs
        written.update(write_outputs(study, folder, lang=out.lang, title=out.title))
        if suggestion is not None:
            files = write_suggestion(suggestion, _study_inputs(study), folder / "suggest", lang=out.lang or study.lang,
                                     title=out.title)
            written.update({f"suggest/{k}": v for k, v in files.items()})
    log.info("scenario %s: done, %d files in %s", label, len(written), folder)
    return ScenarioRun(scenario=scenario, study=study, suggestion=suggestion, folder=folder, written=written)


def _suggest_inputs(scenario: Scenario):
    spec = scenario.suggest
    exclude = candidates = None
    if spec.exclude is not None:
        from carecircle.io.readers import read_polygons

        exclude = read_polygons(spec.exclude)
    if spec.candidates is not None:
        from carecircle.io.readers import read_facilities

        candidates = read_facilities(spec.candidates, crs=scenario.facilities.crs, type_col=None)
        for col, key in ((spec.cost_col, "cost_col"), (spec.site_capacity_col, "site_capacity_col")):
            if col is not None and col not in candidates.columns:
                raise InputError(f"{spec.candidates.name}: no column {col!r} (suggest.{key}); columns: "
                                 f"{', '.join(map(str, candidates.columns))}.")
    return exclude, candidates


def _suggest(scenario: Scenario, study: StudyResult, *, candidates, exclude, progress) -> Suggestion:
    from carecircle.plan.siting import suggest_sites

    spec = scenario.suggest
    cov = study.coverage
    communities = cov.communities if len(cov.communities) else None
    return suggest_sites(
        study.network, cov.facilities, cov.demand, communities, candidates=candidates, method=spec.method,
        new_sites=spec.new_sites, target_share=spec.target if spec.target is not None else cov.target_share,
        minutes=spec.minutes if spec.minutes is not None else max(cov.thresholds_min),
        walk_speed_mps=scenario.walking.walk_speed_mps, max_snap_m=scenario.walking.max_snap_m,
        spacing_m=spec.spacing_m, cost_col=spec.cost_col, budget=spec.budget, capacity_col=spec.site_capacity_col,
        time_limit_s=spec.time_limit_s, exclude=exclude, progress=progress)


def _study_inputs(study: StudyResult) -> StudyInputs:
    """The inputs of a finished study, as :func:`carecircle.outputs.export.write_suggestion` takes them."""
    from carecircle.pipeline import StudyInputs

    cov = study.coverage
    return StudyInputs(name=study.name, network=study.network, facilities=cov.facilities,
                       communities=cov.communities if len(cov.communities) else None, demand=cov.demand,
                       inputs=study.inputs, note=study.note, all_facilities=study.facilities)


def _describe_inputs(scenario: Scenario, inputs: dict) -> dict:
    out = dict(inputs)
    if scenario.path is not None:
        out["scenario"] = str(scenario.path)
    spec = scenario.facilities
    if spec.has_changes:
        source = scenario.inputs.facilities or "the demo facilities"
        added = ", ".join(a.facility_id for a in spec.add) or "none"
        out["facilities"] = (f"{source}, changed by the scenario: added {added}; removed "
                             f"{', '.join(spec.remove) or 'none'}; changed {', '.join(spec.change) or 'none'}")
    return out


_PROCESS_CACHE: Path | None = None


def _process_cache() -> Path:
    """A network cache for this process only (removed at exit): the in-process memo of loaded networks.

    :func:`carecircle.core.network.load_network` keeps its arrays as ``.npz`` keyed by file and mtime (or the
    online query); reloading one takes milliseconds, against about a second (and a download for online
    areas) to build it again.
    """
    global _PROCESS_CACHE
    if _PROCESS_CACHE is None or not _PROCESS_CACHE.is_dir():
        _PROCESS_CACHE = Path(tempfile.mkdtemp(prefix="carecircle-networks-"))
        atexit.register(shutil.rmtree, _PROCESS_CACHE, ignore_errors=True)
    return _PROCESS_CACHE


# ----------------------------------------------------------------------------------------------- example


def example_scenario() -> str:
    """A commented example scenario showing every option; it runs on the bundled demo as it is."""
    return _EXAMPLE


def write_example(path: str | os.PathLike) -> Path:
    """Write :func:`example_scenario` to ``path``; an existing file is never overwritten (InputError)."""
    from carecircle.errors import OutputError

    path = Path(path)
    if path.exists():
        raise InputError(f"{path} already exists; choose another file name or delete it first.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as f:
            f.write(_EXAMPLE)
    except FileExistsError as exc:
        raise InputError(f"{path} already exists; choose another file name or delete it first.") from exc
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({exc.strerror or exc}); choose another folder.") from exc
    return path


_EXAMPLE = """\
# carecircle scenario: one study of the 15-minute elder-care circle (15分钟养老服务圈).
# Run it with:   carecircle run scenario.yaml
# Compare two:   carecircle compare baseline.yaml plan.yaml
# As written it analyses the bundled demo area (real OpenStreetMap streets of central Helsinki, illustrative
# communities and facilities) offline. Relative paths are relative to this file's folder.

name: example-plan                    # names the output folder (maps/example-plan/) and the comparison columns
description: 示例：新增两处社区居家养老服务站，撤并一处老年食堂，并测算再建3处站点的最佳选址

# Study area: where the walking network comes from. Give exactly one key, or leave out `area` for the demo.
# area:
#   network: 和平区.osm.pbf            # offline: Geofabrik China extract (.osm.pbf), .osm/.osm.bz2 or .graphml
#   place: "和平区, 沈阳市, 辽宁省"      # online (Overpass): a place name
#   bbox: [123.38, 41.77, 123.42, 41.80]   # online: [west, south, east, north] in degrees
#   polygon: study_area.geojson       # online: the study-area polygon

# Input files. With no `area` each defaults to the demo's file; with an area give facilities and
# communities (or demand points).
inputs:
  # facilities: 养老设施.csv           # points: CSV with lon/lat, GeoJSON, GeoPackage, Shapefile
  # communities: 社区.geojson          # polygons with the population aged 60+ (pop_60plus)
  # demand: 老年人口点.csv              # population points, instead of placing population inside communities
  # buildings: buildings.gpkg         # footprints for placing population (default: those in the OSM file)
  # subdistricts: 街道.geojson         # 街道 polygons: communities are assigned to the one they fall in
  demand_method: buildings            # buildings | nodes | centroid: how community population is placed

# Column names in your files, when they differ from the defaults (shown).
columns:
  # facility_id_col: facility_id
  # name_col: name
  # type_col: type                    # 日间照料中心, 社区居家养老服务站, 养老机构, 老年食堂, … or their codes
  # capacity_col: capacity            # places (床位/位)
  # area_col: floor_area_m2           # building floor area, m²
  # beds_col: beds                    # care beds (养老床位)
  # nursing_beds_col: nursing_beds    # nursing beds (护理型床位)
  # lon_col: lon                      # default: lon/lng/longitude/x/经度
  # lat_col: lat                      # default: lat/latitude/y/纬度
  # community_id_col: community_id
  # community_name_col: name
  # elderly_col: pop_60plus           # population aged 60+ (60岁以上人口)
  # pop_col: pop_total
  # households_col: households
  # subdistrict_col: subdistrict      # 街道
  # district_col: district            # 区/县
  # residential_col: residential      # new | existing (新建/既有): for floor-area standards
  # children_col: pop_0_3             # children aged 0–3, for the childcare (托育) circle of "一老一小"
  # population_col: population        # demand points' population
  # demand_community_col: community_id

# Facilities: the coordinate system of their coordinates, and what this scenario changes.
facilities:
  crs: wgs84                          # wgs84 | gcj02 (Amap/Tencent 高德/腾讯) | bd09 (Baidu 百度) | EPSG code
  add:                                # planned facilities (coordinates in `crs` above)
    - facility_id: N01
      name: 新建社区居家养老服务站（示例）
      type: 社区居家养老服务站           # Chinese or English names and codes are all accepted
      lon: 24.9465
      lat: 60.1640
      capacity: 20                    # places
      floor_area_m2: 300
      # beds: 0
      # nursing_beds: 0
  remove: [F06]                       # facility ids closed in this scenario
  change:                             # new values for existing facilities (any field of `add`)
    F04:
      capacity: 40
      floor_area_m2: 400

walking:
  preset: typical                     # slow 0.8 | typical 1.0 | brisk 1.2 m/s
  # speed_mps: 0.9                    # or a speed in m/s (not both)
  max_snap_m: 300                     # farthest a point may lie from the walking network, metres

thresholds_min: [5, 10, 15]           # walking-time thresholds, minutes (default: 5, 10, 15, or the standard's)
target_share: 0.9                     # share of elderly each community should reach within the largest threshold
# standard: qitaihe-2020              # standards profile for the compliance table: a bundled id (qiqihar-2025,
                                      # qitaihe-2020, jingzhou-2025, shenyang-2021, chishui-2020, gb50180-2018,
                                      # gb50437) or a profile YAML file

# Site suggestion after the run (leave out the section, or leave it empty, for none).
suggest:
  method: mclp                        # mclp: best N sites | set-cover: fewest sites to reach target | p-median
  new_sites: 3
  # target: 0.95                      # set-cover target share (default: target_share)
  # minutes: 15                       # threshold the sites are chosen for (default: the largest threshold)
  # candidates: 闲置用房.csv            # candidate sites (points); default: a grid of network points
  spacing_m: 150                      # spacing of the generated candidate grid, metres
  # cost_col: cost                    # candidates' cost column (with budget)
  # budget: 5000000                   # total budget for new sites
  # site_capacity_col: capacity       # elderly a new site can serve
  time_limit_s: 30                    # solver time limit, seconds
  # exclude: 禁建区.geojson            # polygons where no new site may go

outputs:
  # folder: results/example-plan      # default: maps/<name>; the suggestion goes into its suggest/ folder
  lang: zh                            # zh | en: map, legend, popups and table headers (default: the standard's)
  title: 15分钟养老服务圈（示例方案）
  isochrones: true                    # draw walking isochrones (false is faster)
"""
