"""Valid but unusual inputs, and nonsense that must be refused: `carecircle run` called in-process on modified
copies of the bundled demo (issue 16, items 8–11 and 16).

Unusual but valid input runs to the end with the right numbers; bad input stops before any output with one
line that names the file, the offending values and the fix, and the exit code of its error class.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from carecircle.cli import main
from carecircle.io.default_data import default_data_dir

DATA = default_data_dir()
COMMUNITIES = json.loads((DATA / "communities.geojson").read_text(encoding="utf-8"))
#: The demo's elderly population (sum of pop_60plus).
DEMO_ELDERLY = sum(f["properties"]["pop_60plus"] for f in COMMUNITIES["features"])


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One network cache for the module: every run reads the demo's network once."""
    return tmp_path_factory.mktemp("cache")


def communities(tmp_path: Path, change, name: str = "communities.geojson") -> Path:
    """A copy of the demo's communities after ``change(features)`` (which edits the list in place)."""
    data = copy.deepcopy(COMMUNITIES)
    change(data["features"])
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def demand(tmp_path: Path, rows: list[dict], name: str = "demand.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def run(tmp_path: Path, cache: Path, argv: list[str]) -> tuple[int, Path]:
    """``carecircle run`` with ``argv`` into ``tmp_path/out`` (without isochrones unless a scenario is given)."""
    out = tmp_path / "out"
    scenario = bool(argv) and argv[0].endswith(".yaml")
    code = main(["run", *argv, "--output", str(out), "--cache-dir", str(cache), "--quiet",
                 *([] if scenario else ["--no-isochrones"])])
    return code, out


def set_property(row: int, key: str, value):
    def change(features):
        features[row]["properties"][key] = value
    return change


def set_all(key: str, value):
    def change(features):
        for f in features:
            f["properties"][key] = value
    return change


# ------------------------------------------------------------------------------------ unusual but valid


def test_a_community_with_no_elderly_has_no_share_and_its_children_stay(tmp_path, cache):
    """Item 8: a community at 0 elderly runs (the static map used to crash on its grey colour)."""
    code, out = run(tmp_path, cache, ["--communities", str(communities(tmp_path, set_property(0, "pop_60plus", 0)))])
    assert code == 0
    table = pd.read_csv(out / "communities.csv", encoding="utf-8-sig").set_index("community_id")
    assert table.loc["C01", "elderly"] == 0
    assert table.loc["C01", ["share_5", "share_10", "share_15"]].isna().all()
    assert not table.loc["C01", "below_target"]
    assert (out / "map.png").stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["elderly_population"] == DEMO_ELDERLY - COMMUNITIES["features"][0]["properties"]["pop_60plus"]
    # its children 0-3 are placed on its points in equal shares, not lost with the elderly weights
    children = pd.read_csv(out / "childcare.csv", encoding="utf-8-sig").set_index("community_id")
    assert children.loc["C01", "children"] == pytest.approx(COMMUNITIES["features"][0]["properties"]["pop_0_3"])


def zero_padded_facilities(tmp_path: Path) -> Path:
    """The demo's facilities with ids 001, 002, ... and a tenth facility with id 1 beside 001 (a copy of F02)."""
    df = pd.read_csv(DATA / "facilities.csv", dtype={"facility_id": str})
    df["facility_id"] = [f"{i + 1:03d}" for i in range(len(df))]
    df = pd.concat([df, df.iloc[[1]].assign(facility_id="1")], ignore_index=True)
    path = tmp_path / "facilities.csv"
    df.to_csv(path, index=False)
    return path


def test_ids_with_leading_zeros_are_kept_and_1_is_not_001(tmp_path, cache):
    """Item 9: `001` stays `001` in every output, and `1` beside it is another facility."""
    code, out = run(tmp_path, cache, ["--facilities", str(zero_padded_facilities(tmp_path))])
    assert code == 0
    table = pd.read_csv(out / "facilities.csv", encoding="utf-8-sig", dtype={"facility_id": str})
    assert {"001", "002", "1"} <= set(table["facility_id"])
    demand = pd.read_csv(out / "demand.csv", encoding="utf-8-sig", dtype={"nearest_facility": str})
    assert demand["nearest_facility"].dropna().str.fullmatch(r"00\d|1").all()


def test_a_scenario_removes_a_facility_named_with_leading_zeros(tmp_path, cache):
    facilities = zero_padded_facilities(tmp_path)
    scenario = tmp_path / "zeros.yaml"
    scenario.write_text(f"name: zeros\ninputs:\n  facilities: {facilities.as_posix()}\n"
                        "facilities:\n  remove: ['001']\n  change:\n    '002':\n      capacity: 99\n",
                        encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--output", str(out), "--cache-dir", str(cache), "--quiet"]) == 0
    table = pd.read_csv(out / "facilities.csv", encoding="utf-8-sig", dtype={"facility_id": str})
    ids = table["facility_id"].tolist()
    assert "001" not in ids and "1" in ids
    assert table.set_index("facility_id").loc["002", "capacity"] == 99


FULL_WIDTH = str.maketrans("0123456789.-", "０１２３４５６７８９．－")


def test_full_width_digits_in_coordinates_are_read(tmp_path, cache):
    """Item 16: coordinates typed with a Chinese input method (１２３.４５) give the same study as ASCII ones."""
    df = pd.read_csv(DATA / "facilities.csv", dtype=str)
    df["lon"] = df["lon"].str.translate(FULL_WIDTH)
    df["lat"] = df["lat"].str.translate(FULL_WIDTH)
    assert not df["lon"].str.isascii().any()
    df.to_csv(tmp_path / "facilities.csv", index=False)
    code, out = run(tmp_path, cache, ["--facilities", str(tmp_path / "facilities.csv")])
    assert code == 0
    code, plain = run(tmp_path / "plain", cache, ["--facilities", str(DATA / "facilities.csv")])
    assert code == 0
    for name in ("communities.csv", "facilities.csv", "demand.csv"):
        assert (out / name).read_bytes() == (plain / name).read_bytes(), name


# ---------------------------------------------------------------------------------------------- bad input

BAD = [
    # (name, argv builder, exit code, message pattern)
    ("all communities at 0 elderly",
     lambda t: ["--communities", str(communities(t, set_all("pop_60plus", 0)))], 3,
     r"^communities\.geojson: no elderly population in any community \(column 'pop_60plus' is 0 in all 7 rows\); "
     r"check the 'pop_60plus' column or name the right one with --elderly-col\.$"),
    ("all demand points at 0",
     lambda t: ["--demand", str(demand(t, [{"lon": 24.94, "lat": 60.17, "population": 0}]))], 3,
     r"^demand\.csv: no elderly population at any demand point .*--population-col\.$"),
    ("demand community ids matching no community",
     lambda t: ["--communities", str(DATA / "communities.geojson"), "--demand", str(demand(t, [
         {"community_id": "C01", "lon": 24.9414, "lat": 60.1690, "population": 10},
         {"community_id": "C99", "lon": 24.9460, "lat": 60.1720, "population": 20},
         {"community_id": "X", "lon": 24.9500, "lat": 60.1660, "population": 30}]))], 3,
     r"^demand points: 2 of 3 have a community_id that matches no community \('C99', 'X'; rows 2, 3\); use the "
     r"communities' ids \('C01', 'C02', 'C03', …\) or leave out the communities\.$"),
    ("demand without community ids beside communities",
     lambda t: ["--communities", str(DATA / "communities.geojson"), "--demand", str(demand(t, [
         {"lon": 24.9414, "lat": 60.1690, "population": 10}]))], 3,
     r"^demand points: no community_id column, so none of the 1 points can be counted in a community; add a "
     r"community_id column"),

    ("infinite elderly in a community (item 10)",
     lambda t: ["--communities", str(communities(t, set_property(2, "pop_60plus", float("inf"))))], 3,
     r"^communities\.geojson: column 'pop_60plus' must hold finite numbers, but rows 3 have inf; .*--elderly-col\.$"),
    ("1e309 elderly at a demand point (item 10)",
     lambda t: ["--demand", str(_write(t / "demand.csv", "population,lon,lat\n3,24.9414,60.1690\n"
                                                        "1e309,24.9460,60.1720\n"))], 3,
     r"^demand\.csv: column 'population' must hold finite numbers, but rows 2 have inf; .*--population-col\.$"),
    ("infinite capacity in a facility file (item 10)",
     lambda t: ["--facilities", str(_write(t / "f.csv", (DATA / "facilities.csv").read_text(encoding="utf-8")
                                           .replace(",60,30,15,1800,", ",inf,30,15,1800,")))], 3,
     r"^f\.csv: column 'capacity' must hold finite numbers, but rows 1 have inf; .*--capacity-col\.$"),
    ("infinite capacity changed by a scenario (item 10)",
     lambda t: [str(_write(t / "inf.yaml", "name: inf\nfacilities:\n  change:\n    F04:\n      capacity: .inf\n"))],
     3, r"^inf\.yaml line 5, facilities\.change\.F04\.capacity: inf is not a finite number of zero or more$"),
]


def _swap(coords):
    """Longitude and latitude exchanged in a (nested) GeoJSON coordinate list."""
    return [coords[1], coords[0]] if isinstance(coords[0], int | float) else [_swap(c) for c in coords]


def swap_coordinates(rows):
    def change(features):
        for i in rows:
            features[i]["geometry"]["coordinates"] = _swap(features[i]["geometry"]["coordinates"])
    return change


def globe_spanning(row: int):
    def change(features):
        features[row]["geometry"] = {"type": "Polygon", "coordinates": [
            [[-179, -80], [179, -80], [179, 80], [-179, 80], [-179, -80]]]}
    return change


def duplicated(row: int, new_id: str):
    def change(features):
        features.append(copy.deepcopy(features[row]))
        features[-1]["properties"]["community_id"] = new_id
    return change


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


BAD += [
    ("communities with lon/lat swapped (item 11)",
     lambda t: ["--communities", str(communities(t, swap_coordinates(range(7))))], 3,
     r"^communities: 7 lie mostly more than 5 km beyond the walking network's area: C01 \([\d,]+ km away\), .*C07 "
     r"\([\d,]+ km away\); swapped longitude and latitude, or coordinates in another CRS than declared\? check "
     r"them, or load a network that covers them\.$"),
    ("one community swapped (item 11)",
     lambda t: ["--communities", str(communities(t, swap_coordinates([4])))], 3,
     r"^communities: 1 lie mostly more than 5 km beyond the walking network's area: C05 \(4,7\d\d km away\); "
     r"swapped longitude and latitude"),
    ("a community spanning the globe (item 11)",
     lambda t: ["--communities", str(communities(t, globe_spanning(2)))], 3,
     r"^communities\.geojson: 6 pairs of communities overlap: C01 and C03 \(100% of the smaller\), .*; each "
     r"person must be counted in one community"),
    ("a duplicated community (item 11)",
     lambda t: ["--communities", str(communities(t, duplicated(0, "C08")))], 3,
     r"^communities\.geojson: 1 pairs of communities overlap: C01 and C08 \(100% of the smaller\); each person "
     r"must be counted in one community: remove duplicates or fix the boundaries so that neighbours only touch\.$"),
    ("demand points with lon/lat swapped (item 11)",
     lambda t: ["--demand", str(demand(t, [{"lon": 24.9414, "lat": 60.1690, "population": 10},
                                           {"lon": 60.1720, "lat": 24.9460, "population": 20}]))], 3,
     r"^demand points: 1 lie more than 5 km beyond the walking network's area \(rows 2 \(4,7\d\d km away\)\); "
     r"swapped longitude and latitude, or coordinates in another CRS than declared\?"),
    ("demand points in the wrong CRS (item 11)",
     lambda t: ["--demand", str(demand(t, [{"x": 385_000, "y": 6_672_000, "population": 10}])),
                "--crs", "EPSG:32634"], 3,
     r"^demand points: 1 lie more than 5 km beyond the walking network's area \(rows 1 \([\d,]+ km away\)\)"),
    ("a semicolon-separated facility file with decimal commas (item 16)",
     lambda t: ["--facilities", str(_write(t / "f.csv", (DATA / "facilities.csv").read_text(encoding="utf-8")
                                           .replace(",", ";").replace(".", ",")))], 3,
     r"^f\.csv: looks like a semicolon-separated file with decimal commas \(header 'facility_id;name;type;capacity;"
     r"beds;nursing_beds;floor_ar\.\.\.'\); save it as comma-separated CSV \(Excel: CSV UTF-8\) with decimal "
     r"points\.$"),
    ("unreadable coordinates are shown (item 16)",
     lambda t: ["--facilities", str(_write(t / "f.csv", "facility_id,type,lon,lat\nF1,day_care,24.94°E,60.17\n"))],
     3, r"^f\.csv: 1 rows have coordinates that are not finite numbers \(rows 1: '24\.94°E'\); write decimal "
        r"degrees"),
]


@pytest.mark.parametrize(("name", "argv", "code", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_one_line_exit_code_no_output(tmp_path, cache, capsys, name, argv, code, match):
    result, out = run(tmp_path, cache, argv(tmp_path))
    err = capsys.readouterr().err.strip()
    assert result == code, err
    assert err.startswith("carecircle: error: ")
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert re.search(match, err.removeprefix("carecircle: error: ")), err
    assert not out.exists()
