"""A study configuration run end to end: the pipeline computes, then the outputs are written (CLI and notebooks)."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from carecircle.config import StudyConfig
from carecircle.core.network import Progress
from carecircle.outputs.export import write_outputs, write_suggestion
from carecircle.pipeline import read_suggestion_inputs, run, studied_inputs, suggest
from carecircle.plan.results import StudyResult, Suggestion

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScenarioRun:
    """What :func:`run_scenario` produced.

    Attributes
    ----------
    scenario : the configuration run.
    study : the coverage study (with the scenario's facility changes applied), named by the scenario.
    suggestion : suggested sites when the scenario has a ``suggest`` section, else ``None``.
    folder : the output folder.
    written : file name → path of every file written (``suggest/…`` for the suggestion's files); empty when
        run with ``write=False``.
    """

    scenario: StudyConfig
    study: StudyResult
    suggestion: Suggestion | None
    folder: Path
    written: dict[str, Path]


def run_scenario(
    scenario: StudyConfig,
    *,
    out_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
    quiet: bool = False,
    write: bool = True,
) -> ScenarioRun:
    """Run a checked study configuration: the study, then the site suggestion if asked, then write every output.

    Parameters
    ----------
    scenario : from :func:`carecircle.scenario.load_scenario`, the CLI's flags, or built in Python.
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
    """
    step = (lambda *_args: None) if quiet or progress is None else progress
    cache = Path(cache_dir).expanduser() if cache_dir is not None else process_cache()
    label = scenario.path.name if scenario.path is not None else scenario.label
    extra = read_suggestion_inputs(scenario)  # before the heavy work, so a bad file fails fast

    step(f"{label}: running the study")
    study = run(scenario, cache_dir=cache, progress=None if quiet else progress)
    suggestion = None
    if scenario.suggest is not None:
        step(f"{label}: choosing new sites")
        suggestion = suggest(scenario, studied_inputs(study), inputs=extra, progress=None if quiet else progress,
                             existing_isochrones=study.isochrones)

    folder = scenario.output_folder(out_dir)
    written: dict[str, Path] = {}
    if write:
        step(f"{label}: writing map and tables")
        out = scenario.outputs
        written.update(write_outputs(study, folder, lang=out.lang, title=out.title))
        if suggestion is not None:
            files = write_suggestion(suggestion, studied_inputs(study), folder / "suggest", lang=scenario.lang,
                                     title=out.title)
            written.update({f"suggest/{k}": v for k, v in files.items()})
    log.info("scenario %s: done, %d files in %s", label, len(written), folder)
    return ScenarioRun(scenario=scenario, study=study, suggestion=suggestion, folder=folder, written=written)


_PROCESS_CACHE: Path | None = None


def process_cache() -> Path:
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

