"""Standards profiles: the targets of a municipal plan or a national standard, as data.

A profile is a small YAML file (``carecircle/profiles/<id>.yaml``; the format is described in
``carecircle/profiles/README.md``): the source document, the walking-time thresholds and main coverage target,
and a list of targets, each of a *kind* with its parameters, the levels it is checked at and the clause it comes
from. :func:`load_profile` reads a bundled profile by id or any YAML file and checks it completely, reporting
every problem at once; :func:`carecircle.plan.compliance.evaluate` checks the targets against a study.

>>> from carecircle.plan.standards import load_profile
>>> profile = load_profile("qitaihe-2020")
>>> [t.kind for t in profile.targets][:2]
['coverage', 'facility_count']
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from carecircle.errors import InputError
from carecircle.io.facility_types import accepted_values, check_codes
from carecircle.io.readers import AREA_TYPES

#: Levels a target can be reported at, coarsest first.
LEVELS = ("overall", "district", "subdistrict", "community")
Level = Literal["overall", "district", "subdistrict", "community"]
_RANK = {level: i for i, level in enumerate(LEVELS)}


def _codes(values: Iterable[str] | None, *, field: str) -> tuple[str, ...] | None:
    """Canonical facility-type codes; a ValueError naming the unknown spellings and the accepted values."""
    if values is None:
        return None
    values = [values] if isinstance(values, str) else list(values)
    if not values:
        raise ValueError(f"{field} is empty; give at least one facility type, or leave it out")
    out, bad = [], []
    for value in values:
        try:
            out.extend(check_codes([value], where="profile"))
        except InputError:
            bad.append(str(value))
    if bad:
        raise ValueError(f"unknown facility type {', '.join(map(repr, bad))}; use one of {accepted_values()}")
    return tuple(dict.fromkeys(out))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DocumentSource(_Model):
    """The document a profile encodes."""

    title: str = Field(min_length=1)
    issuer: str = Field(min_length=1)
    year: int = Field(ge=1949, le=2100)
    number: str | None = None  # document number, e.g. 七政办规〔2020〕7号
    url: str | None = None


class TargetSource(_Model):
    """Where a target comes from: document (default: the profile's) and clause or section."""

    document: str | None = None
    clause: str | None = None


class Where(_Model):
    """Restrict a target to communities whose ``column`` holds one of ``values`` (compared case-insensitively)."""

    column: str = Field(min_length=1)
    values: tuple[str, ...] = Field(min_length=1)

    @field_validator("values", mode="before")
    @classmethod
    def _as_strings(cls, v):
        return [v] if isinstance(v, str) else [str(x) for x in v]


class _Target(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    levels: tuple[Level, ...] = ("overall",)
    description_zh: str = Field(min_length=1)
    description_en: str = Field(min_length=1)
    source: TargetSource
    #: Why the target is reported ``unevaluable`` without being checked (e.g. the facility vocabulary cannot
    #: tell the kinds it needs apart, or the figure is a plan to be made, not a target of the year).
    unevaluable: str | None = Field(None, min_length=1)
    #: The same reason in Chinese, shown instead of ``unevaluable`` in Chinese tables and on the Chinese console
    #: (every bundled profile gives both); without it ``unevaluable`` is shown in both languages.
    unevaluable_zh: str | None = Field(None, min_length=1)
    #: Only urban units or only rural ones (communities' ``area_type``; a subdistrict is a township, 乡镇, when at
    #: least half of its communities are villages, 村); None: both. The target judges only communities and
    #: subdistricts of that type, and counts the people, households, beds and facilities of the communities of
    #: that type; a ``facility_count`` per subdistrict, district or overall counts facilities anywhere in a
    #: subdistrict of that type (a township's centre or care home may stand in its seat's 社区).
    area_type: Literal["urban", "rural"] | None = None

    @field_validator("area_type", mode="before")
    @classmethod
    def _area_type(cls, v):
        if v is None:
            return None
        code = AREA_TYPES.get(str(v).strip().casefold())
        if code is None:
            raise ValueError(f"area_type {v!r} is neither urban (城镇, 街道, 社区) nor rural (农村, 乡镇, 村)")
        return code

    @model_validator(mode="after")
    def _reason_first(self):
        if self.unevaluable_zh is not None and self.unevaluable is None:
            raise ValueError("unevaluable_zh is given without unevaluable; give the reason in unevaluable (any "
                             "language) and its Chinese in unevaluable_zh")
        return self

    def reason(self, lang: str) -> str | None:
        """Why the profile reports this target unevaluable, in ``lang`` (``zh`` or ``en``); None: it is checked."""
        return (self.unevaluable_zh or self.unevaluable) if lang == "zh" else self.unevaluable

    @field_validator("levels", mode="before")
    @classmethod
    def _one_level(cls, v):
        return [v] if isinstance(v, str) else v

    @field_validator("levels")
    @classmethod
    def _ordered(cls, v):
        if not v:
            raise ValueError("levels is empty; use some of overall, district, subdistrict, community")
        return tuple(sorted(set(v), key=_RANK.__getitem__))


_Share = Annotated[float, Field(ge=0, le=1)]
_Positive = Annotated[float, Field(gt=0)]


class CoverageTarget(_Target):
    """Share of ``population`` within ``minutes`` (or ``distance_m``) of the nearest facility of ``types``
    (``None``: any elder-care facility) ≥ ``min_share``."""

    kind: Literal["coverage"]
    types: tuple[str, ...] | None = None
    minutes: _Positive | None = None
    distance_m: _Positive | None = None
    min_share: _Share
    population: Literal["elderly", "children"] = "elderly"
    where: Where | None = None

    canonical_types = field_validator("types", mode="before")(lambda v: _codes(v, field="types"))

    @model_validator(mode="after")
    def _one_limit(self):
        if (self.minutes is None) == (self.distance_m is None):
            raise ValueError("give exactly one of minutes or distance_m")
        return self


class FacilityCountTarget(_Target):
    """Each unit at level ``per`` holds ≥ ``min_count`` facilities of ``types``; at coarser levels, the share of
    such units ≥ ``min_share``. A facility belongs to the community whose polygon contains it."""

    kind: Literal["facility_count"]
    types: tuple[str, ...] | None = None  # None: any elder-care facility
    per: Level
    min_count: int = Field(1, ge=1)
    min_share: _Share = 1.0
    where: Where | None = None
    facility_where: Where | None = None  # only facilities whose column holds one of the values (e.g. 公办)

    canonical_types = field_validator("types", mode="before")(lambda v: _codes(v, field="types"))

    @model_validator(mode="after")
    def _levels_not_finer(self):
        finer = [lv for lv in self.levels if _RANK[lv] > _RANK[self.per]]
        if finer:
            raise ValueError(f"levels {', '.join(finer)} are finer than per: {self.per}; use levels from "
                             f"{', '.join(LEVELS[: _RANK[self.per] + 1])}")
        return self


#: Facility types whose floor area counts as home-care service space (居家养老服务用房) by default.
HOME_CARE_TYPES = ("comprehensive_centre", "day_care", "home_care_station", "canteen")


class FloorAreaTarget(_Target):
    """Floor area of facilities of ``types`` per 100 households ≥ ``new_m2`` in new residential areas and
    ≥ ``existing_m2`` in existing ones (community column ``residential``)."""

    kind: Literal["floor_area_per_100_households"]
    types: tuple[str, ...] = HOME_CARE_TYPES
    new_m2: _Positive | None = None
    existing_m2: _Positive | None = None

    canonical_types = field_validator("types", mode="before")(lambda v: _codes(v, field="types"))

    @model_validator(mode="after")
    def _some_standard(self):
        if self.new_m2 is None and self.existing_m2 is None:
            raise ValueError("give new_m2, existing_m2 or both")
        return self


class BedsTarget(_Target):
    """Beds (``beds``) of facilities of ``types`` (``None``: any elder-care) per 1,000 elderly ≥ ``min_beds``."""

    kind: Literal["beds_per_1000_elderly"]
    types: tuple[str, ...] | None = ("care_home",)
    min_beds: _Positive

    canonical_types = field_validator("types", mode="before")(lambda v: _codes(v, field="types"))


class NursingShareTarget(_Target):
    """Nursing-type beds (``nursing_beds``) / beds (``beds``) of facilities of ``types`` ≥ ``min_share``."""

    kind: Literal["nursing_bed_share"]
    types: tuple[str, ...] | None = ("care_home",)
    min_share: _Share
    facility_where: Where | None = None  # only facilities whose column holds one of the values (e.g. 公办)

    canonical_types = field_validator("types", mode="before")(lambda v: _codes(v, field="types"))


class PlacesTarget(_Target):
    """Places (``capacity``) of facilities of ``types`` per 1,000 residents (``pop_total``) ≥ ``min_places``."""

    kind: Literal["places_per_1000_residents"]
    types: tuple[str, ...] = ("childcare",)
    min_places: _Positive

    canonical_types = field_validator("types", mode="before")(lambda v: _codes(v, field="types"))


class CoLocationTarget(_Target):
    """Share of facilities of ``types`` with a facility of ``near_types`` (with ``near_all``: one of each of
    them) within ``max_distance_m`` (straight line) ≥ ``min_share`` (三站合一, 毗邻建设)."""

    kind: Literal["co_location"]
    types: tuple[str, ...]
    near_types: tuple[str, ...]
    near_all: bool = False  # every one of near_types nearby (三站合一), not just one of them
    max_distance_m: float = Field(ge=0)
    min_share: _Share = 1.0

    canonical_types = field_validator("types", "near_types", mode="before")(
        lambda v, info: _codes(v, field=info.field_name))


class FloorAreaMinTarget(_Target):
    """Share of facilities of ``types`` with floor area ≥ ``min_m2`` (or ≥ ``min_m2_per_bed`` × beds)
    ≥ ``min_share``."""

    kind: Literal["min_floor_area"]
    types: tuple[str, ...]
    min_m2: _Positive | None = None
    min_m2_per_bed: _Positive | None = None
    min_share: _Share = 1.0
    facility_where: Where | None = None  # only facilities whose column holds one of the values (e.g. 新建)

    canonical_types = field_validator("types", mode="before")(lambda v: _codes(v, field="types"))

    @model_validator(mode="after")
    def _one_standard(self):
        if (self.min_m2 is None) == (self.min_m2_per_bed is None):
            raise ValueError("give exactly one of min_m2 or min_m2_per_bed")
        return self


#: Target classes by ``kind``.
TARGET_KINDS: dict[str, type[_Target]] = {
    cls.model_fields["kind"].annotation.__args__[0]: cls
    for cls in (CoverageTarget, FacilityCountTarget, FloorAreaTarget, BedsTarget, NursingShareTarget, PlacesTarget,
                CoLocationTarget, FloorAreaMinTarget)
}

Target = Annotated[
    CoverageTarget | FacilityCountTarget | FloorAreaTarget | BedsTarget | NursingShareTarget | PlacesTarget
    | CoLocationTarget | FloorAreaMinTarget,
    Field(discriminator="kind"),
]


class Profile(_Model):
    """A standards profile (see ``carecircle/profiles/README.md``).

    Attributes
    ----------
    id, name_zh, name_en : identifier (``qitaihe-2020``) and names.
    source : the document encoded (title, issuer, year, optional number and url).
    lang : default language of labels, ``zh`` or ``en``.
    thresholds_min : walking-time thresholds of the study, minutes, ascending.
    target_share : main coverage target (share of elderly at the largest threshold), 0..1.
    type_minutes : per facility type (code, or ``any``) the walking minutes of its coverage row.
    walk_model : the walking model the plan's times assume (``plain`` or ``older``), unless the study names one.
    targets : the targets checked by :func:`carecircle.plan.compliance.evaluate`.
    notes : free text, e.g. the plan's targets left out and why.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    source: DocumentSource
    lang: Literal["zh", "en"] = "zh"
    thresholds_min: tuple[_Positive, ...] = (5.0, 10.0, 15.0)
    target_share: _Share = 0.9
    type_minutes: dict[str, _Positive] | None = None
    walk_model: Literal["plain", "older"] | None = None
    targets: tuple[Target, ...]
    notes: tuple[str, ...] = ()

    @field_validator("thresholds_min")
    @classmethod
    def _ascending(cls, v):
        if not v:
            raise ValueError("thresholds_min is empty; give e.g. [5, 10, 15]")
        return tuple(sorted(set(v)))

    @field_validator("targets")
    @classmethod
    def _some_targets(cls, v):
        if not v:
            raise ValueError("no targets; give at least one (see carecircle/profiles/README.md)")
        ids = [t.id for t in v]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate target ids {', '.join(dup)}; each target needs its own id")
        return v

    @field_validator("type_minutes")
    @classmethod
    def _type_keys(cls, v):
        if v is None:
            return None
        codes = _codes([k for k in v if k != "any"] or ["unspecified"], field="type_minutes")
        out = dict(zip(codes, (m for k, m in v.items() if k != "any"), strict=False))
        if "any" in v:
            out["any"] = v["any"]
        return out

    def target_source(self, target: _Target) -> str:
        """The ``source`` text of a compliance row: document and clause."""
        doc = target.source.document or self.source.title
        return f"{doc} {target.source.clause}" if target.source.clause else doc


# --------------------------------------------------------------------------------------------------- loading

def _bundled() -> dict[str, Path]:
    folder = resources.files("carecircle") / "profiles"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith((".yaml", ".yml"))}


def list_profiles() -> list[tuple[str, str, str]]:
    """The bundled profiles as ``(id, name_zh, name_en)``, sorted by id."""
    return [(p.id, p.name_zh, p.name_en) for p in (load_profile(path) for _, path in sorted(_bundled().items()))]


def load_profile(name_or_path: str | Path) -> Profile:
    """A standards profile by bundled id (``qitaihe-2020``) or from a YAML file.

    Raises
    ------
    InputError, one line: an unknown id (listing the bundled ones), a missing file, invalid YAML, or every
    problem of the profile with its key path and line, e.g.
    ``targets[2] (daycare).min_share (line 31): Input should be less than or equal to 1``.
    """
    text = str(name_or_path)
    path = Path(text).expanduser()
    bundled = _bundled()
    if isinstance(name_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text:
        if not path.is_file():
            raise InputError(f"standards profile file {text} not found; give a YAML file or one of the bundled "
                             f"profiles {', '.join(sorted(bundled))}.")
    elif text in bundled:
        path = bundled[text]
    else:
        raise InputError(f"unknown standards profile {text!r}; use one of {', '.join(sorted(bundled))}, "
                         "or the path of a .yaml profile.")
    try:
        source = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"standards profile {path.name}: cannot read it ({e}).") from None
    return parse_profile(source, name=path.name)


def parse_profile(text: str, *, name: str = "profile") -> Profile:
    """A profile from YAML ``text`` (``name`` labels error messages); see :func:`load_profile`."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputError(f"standards profile {name}: not valid YAML{where}: {problem}.") from None
    if not isinstance(data, dict):
        raise InputError(f"standards profile {name}: expected a mapping of keys (id, name_zh, ..., targets), "
                         f"got {type(data).__name__}.")
    try:
        return Profile.model_validate(data)
    except ValidationError as e:
        problems = [_problem(err, data, root) for err in e.errors()]
        raise InputError(f"standards profile {name}: {len(problems)} problem{'s' if len(problems) > 1 else ''}: "
                         + "; ".join(problems) + ".") from None


def _problem(err: dict, data: dict, root) -> str:
    """One validation error as ``path (line n): message``."""
    loc = list(err["loc"])
    path, node, value = "", root, data
    for i, part in enumerate(loc):
        if isinstance(value, dict) and part in value:
            node = _child(node, part)
            value = value[part]
            path += f".{part}" if path else str(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            node = _child(node, part)
            value = value[part]
            path += f"[{part}]"
            if isinstance(value, dict) and isinstance(value.get("id"), str):
                path += f" ({value['id']})"
        elif isinstance(part, str) and part in TARGET_KINDS and i > 0:
            continue  # the union tag pydantic adds inside targets[i]
        else:
            path += f".{part}" if path else str(part)
    line = f" (line {node.start_mark.line + 1})" if node is not None else ""
    kind, msg = err["type"], err["msg"]
    if kind == "union_tag_invalid":
        path += ".kind"
        node = _child(node, "kind")
        msg = f"unknown kind {err['ctx']['tag']!r}; use one of {', '.join(TARGET_KINDS)}"
    elif kind == "union_tag_not_found":
        msg = f"kind missing; use one of {', '.join(TARGET_KINDS)}"
        path += ".kind"
    elif kind == "extra_forbidden":
        msg = f"unknown key; allowed keys are {', '.join(_allowed_keys(loc, data))}"
    elif kind == "missing":
        msg = "missing"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    elif kind in ("float_parsing", "int_parsing", "float_type", "int_type"):
        msg = f"{msg} (got {value!r})"
    return f"{path}{line}: {msg}" if path else msg


def _child(node, key):
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                return v
    elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return node


def _allowed_keys(loc: list, data: dict) -> list[str]:
    parent = loc[:-1]
    model: type[BaseModel] = Profile
    if parent and parent[0] == "targets" and len(parent) >= 2:
        kind = parent[2] if len(parent) > 2 and parent[2] in TARGET_KINDS else None
        model = TARGET_KINDS.get(kind, _Target)
        if parent[-1] == "source":
            model = TargetSource
        elif parent[-1] in ("where", "facility_where"):
            model = Where
    elif parent == ["source"]:
        model = DocumentSource
    return list(model.model_fields)

