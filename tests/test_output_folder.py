"""An output folder is written all or nothing (issue 16, items 5, 6 and 7).

``write_all`` writes a new set into a folder beside the destination and swaps it in: a failure midway leaves
the earlier set byte for byte; a first run that fails leaves nothing; two runs into one folder take turns and
end with one whole set; a reader never sees a mix; temporaries of killed runs are removed; a full disk is an
``OutputError`` (exit 6) naming the file.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import pytest
from pyogrio.errors import DataSourceError

from carecircle.cli import main
from carecircle.errors import OutputError
from carecircle.outputs import files
from carecircle.outputs.export import MANIFEST, write_all

NAMES = ("map.html", "report.html", "summary.json", "communities.csv", "layers.gpkg")


def _writers(tag: str, *, fail_at: str | None = None, pause_s: float = 0.0, names=NAMES) -> dict:
    """Writers of ``names`` whose content is ``tag`` (and the file name); the one named ``fail_at`` raises."""
    def write(path: Path, name: str) -> None:
        if name == fail_at:
            raise OSError(errno.EIO, "Input/output error (simulated)")
        if pause_s:
            time.sleep(pause_s)
        path.write_text(f"{tag}:{name}\n", encoding="utf-8")

    return {name: (lambda path, n=name: write(path, n)) for name in names}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _leftovers(parent: Path) -> list[str]:
    """Temporaries and locks of carecircle anywhere under ``parent``."""
    return sorted(str(p.relative_to(parent)) for p in parent.rglob("*") if ".carecircle-" in p.name
                  and p.name != MANIFEST)


# --- a failure leaves the earlier set ------------------------------------------------------------------------------


@pytest.mark.parametrize("fail_at", NAMES)
def test_a_writer_failing_midway_leaves_the_old_set_byte_identical(tmp_path, fail_at):
    out = tmp_path / "out"
    write_all(out, _writers("old"))
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    before = _snapshot(out)
    with pytest.raises(OutputError, match=rf"{fail_at}: cannot write it \(Input/output error"):
        write_all(out, _writers("new", fail_at=fail_at))
    assert _snapshot(out) == before
    assert _leftovers(tmp_path) == []


def test_a_folder_where_a_file_goes_fails_and_leaves_the_old_set(tmp_path):
    out = tmp_path / "out"
    write_all(out, _writers("old", names=("map.html", "report.html")))
    before = _snapshot(out)
    write_all(out, _writers("old", names=("map.html", "report.html")))
    (out / "summary.json").mkdir()  # e.g. a user's folder named like a result file
    with pytest.raises(OutputError, match=r"summary\.json: is a folder where a result file goes"):
        write_all(out, _writers("new", names=("map.html", "report.html", "summary.json")))
    assert _snapshot(out) == before
    assert (out / "summary.json").is_dir()
    assert _leftovers(tmp_path) == []


def test_a_first_run_that_fails_leaves_nothing(tmp_path):
    out = tmp_path / "maps" / "city" / "run"
    with pytest.raises(OutputError):
        write_all(out, _writers("new", fail_at="summary.json"))
    assert list(tmp_path.iterdir()) == []  # not even the parents it would have created


def test_a_first_cli_run_that_fails_leaves_nothing(tmp_path, capsys):
    out = tmp_path / "maps" / "run"
    assert main(["run", "--facilities", str(tmp_path / "nope.csv"), "--output", str(out), "--no-cache"]) == 3
    assert list(tmp_path.iterdir()) == []


# --- what is kept and what is dropped ----------------------------------------------------------------------------


def test_files_only_an_earlier_run_wrote_are_removed_and_others_kept(tmp_path):
    out = tmp_path / "out"
    write_all(out, _writers("one", names=("map.html", "compliance.csv")))
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (out / "drafts").mkdir()
    (out / "drafts" / "a.txt").write_text("draft", encoding="utf-8")
    (out / "link").symlink_to("notes.txt")
    os.chmod(out, 0o750)
    write_all(out, _writers("two", names=("map.html",)))
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, "map.html", "notes.txt", "drafts", "link"])
    assert (out / "map.html").read_text(encoding="utf-8") == "two:map.html\n"
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "drafts" / "a.txt").read_text(encoding="utf-8") == "draft"
    assert os.readlink(out / "link") == "notes.txt"
    assert json.loads((out / MANIFEST).read_text(encoding="utf-8")) == ["map.html"]
    assert out.stat().st_mode & 0o777 == 0o750
    assert _leftovers(tmp_path) == []


def test_a_file_the_user_named_like_a_result_is_replaced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "map.html").write_text("user's", encoding="utf-8")
    write_all(out, _writers("new", names=("map.html",)))
    assert (out / "map.html").read_text(encoding="utf-8") == "new:map.html\n"


def test_a_symlinked_output_folder_stays_a_symlink(tmp_path):
    real = tmp_path / "real"
    write_all(real, _writers("one"))
    link = tmp_path / "link"
    link.symlink_to(real)
    write_all(link, _writers("two"))
    assert link.is_symlink()
    assert (real / "map.html").read_text(encoding="utf-8") == "two:map.html\n"


def test_the_current_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match="is the current folder or holds it"):
        write_all(".", _writers("x"))
    assert list(tmp_path.iterdir()) == []


# --- concurrent runs and readers --------------------------------------------------------------------------------


def _consistent(folder: Path) -> set[str]:
    """The tags of one listing of ``folder``, read through one descriptor (so from one set)."""
    while True:
        try:
            fd = os.open(folder, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            tags = set()
            for name in os.listdir(fd):
                if name in NAMES:
                    with open(os.open(name, os.O_RDONLY, dir_fd=fd), encoding="utf-8") as f:
                        tags.add(f.read().split(":")[0])
            if os.fstat(fd).st_nlink == 0:  # an old set, removed while listed: read again
                continue
            return tags
        except FileNotFoundError:  # that set was removed while read: read again
            continue
        finally:
            os.close(fd)


def test_two_threads_writing_into_one_folder_end_with_one_whole_set_and_readers_never_see_a_mix(tmp_path):
    out = tmp_path / "out"
    write_all(out, _writers("start"))
    errors: list[BaseException] = []
    seen: list[set[str]] = []
    stop = threading.Event()

    def writer(tag: str) -> None:
        try:
            for i in range(5):
                write_all(out, _writers(f"{tag}{i}", pause_s=0.002))
        except BaseException as exc:  # reported below
            errors.append(exc)

    def reader() -> None:
        while not stop.is_set():
            seen.append(_consistent(out))

    threads = [threading.Thread(target=writer, args=(t,)) for t in "ab"]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert errors == []
    assert len(seen) > 10
    assert all(len(tags) == 1 for tags in seen), [t for t in seen if len(t) != 1][:3]
    final = {p.read_text(encoding="utf-8").split(":")[0] for p in out.iterdir() if p.name in NAMES}
    assert len(final) == 1 and final.pop() in {"a4", "b4"}
    assert sorted(p.name for p in out.iterdir()) == sorted([*NAMES, MANIFEST])
    assert _leftovers(tmp_path) == []


def _write_in_process(out: str, tag: str) -> None:
    write_all(out, _writers(tag, pause_s=0.05))


def test_two_processes_writing_into_one_folder_end_with_one_whole_set(tmp_path):
    out = tmp_path / "out"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_in_process, args=(str(out), tag)) for tag in ("p1", "p2", "p3")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    tags = {p.read_text(encoding="utf-8").split(":")[0] for p in out.iterdir() if p.name in NAMES}
    assert len(tags) == 1
    assert sorted(p.name for p in out.iterdir()) == sorted([*NAMES, MANIFEST])
    assert _leftovers(tmp_path) == []


def test_a_run_waits_a_bounded_time_for_the_folder_then_names_it(tmp_path):
    out = tmp_path / "out"
    with files._folder_lock(Path(os.path.realpath(out)), 1.0):  # as another run would
        start = time.monotonic()
        with pytest.raises(OutputError, match=rf"{out}: another carecircle run is writing into this folder"):
            files.write_folder(out, lambda folder: [], manifest=MANIFEST, wait_s=0.3)
        assert 0.3 <= time.monotonic() - start < 5
    assert not out.exists()
    assert _leftovers(tmp_path) == []


# --- temporaries left by killed runs -----------------------------------------------------------------------------


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_all(out, _writers("one"))
    stale_new = tmp_path / ".out.carecircle-new-99999-dead"
    stale_old = tmp_path / ".out.carecircle-old-99999-dead"
    live = tmp_path / ".out.carecircle-new-1-live"
    legacy = out / ".carecircle-abc123"  # the per-file writer's temporary inside the folder, from older versions
    for d in (stale_new, stale_old, live, legacy):
        d.mkdir()
        (d / "map.html").write_text("half", encoding="utf-8")
    old = time.time() - 3600
    for d in (stale_new, stale_old, live):
        os.utime(d, (old, old))
    held = files._hold(live)  # a live run holds its temporary folder
    try:
        write_all(out, _writers("two"))
        assert not stale_new.exists() and not stale_old.exists() and not legacy.exists()
        assert live.exists()
    finally:
        os.close(held)
    write_all(out, _writers("three"))
    assert not live.exists()
    assert _leftovers(tmp_path) == []


_KILLED_WRITER = """
import sys, time
from carecircle.outputs.export import write_all
def slow(path):
    path.write_text("half", encoding="utf-8")
    print("writing", flush=True)
    time.sleep(60)
write_all(sys.argv[1], {"map.html": lambda p: p.write_text("new"), "report.html": slow})
"""


def test_kill_9_while_writing_leaves_the_old_set_and_the_next_run_cleans_up(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_all(out, _writers("old"))
    before = _snapshot(out)
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(out)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert _snapshot(out) == before
    assert _leftovers(tmp_path)  # the killed run's temporary folder
    monkeypatch.setattr(files, "_GRACE_S", 0.0)  # instead of waiting for it to age
    write_all(out, _writers("next"))
    assert _leftovers(tmp_path) == []


# --- a full disk ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
                                   DataSourceError("sqlite3_step() failed: database or disk is full")])
def test_a_full_disk_while_writing_the_geopackage_is_an_output_error(tmp_path, capsys, monkeypatch, error):
    def full(*args, **kwargs):
        raise error

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", full)
    out = tmp_path / "out"
    assert main(["run", "--output", str(out), "--no-isochrones", "--quiet",
                 "--cache-dir", str(tmp_path / "cache")]) == 6
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "layers.gpkg: cannot write it (" in err
    assert ("No space left on device" if isinstance(error, OSError) else "database or disk is full") in err
    assert list(tmp_path.iterdir()) == [tmp_path / "cache"]  # no output folder, no temporaries
