"""``beras-grader similarity``: every pair of submission zips compared, the starter's code excluded."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Optional

import typer

from grader.cli.grade import resolve_release
from grader.cli.shared import AssignmentsDir, Reference, fail


def similarity_command(
    release: str = typer.Argument(..., help="Autograder folder (from `release`), or an assignment "
                                            "name/folder: its starter is the code excluded."),
    submissions: Path = typer.Argument(..., help="A folder of submission zips, one per student."),
    archive: Optional[Path] = typer.Option(None, help="A folder of earlier offerings' zips, compared with "
                                                      "the current ones only."),
    threshold: float = typer.Option(0.5, min=0.0, max=1.0, help="Flag pairs whose score reaches this."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the HTML report (side by side) here."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the flagged pairs as JSON here."),
    exclude: Optional[list[Path]] = typer.Option(None, help="More code to leave out like the starter's: an "
                                                            "earlier starter's zip or package folder "
                                                            "(repeatable)."),
    jobs: int = typer.Option(1, min=1, max=32, help="Fingerprint and compare in this many processes."),
    assignments_dir: AssignmentsDir = Path("assignments"),
    reference: Reference = Path("reference/beras"),
) -> None:
    """Compare every two submissions' owned files and list the pairs at or above the threshold.

    A pair's score is the larger of its two directions (the share of a's own code found in b, and of
    b's in a). Exit status: 0 done (whatever was found), 2 bad input.
    """
    from grader.similarity import SimilaritySettings, compare_submissions
    from grader.similarity.inputs import SimilarityInputError, excluded_files, read_zips, starter_files
    from grader.similarity.report import render_report

    settings = SimilaritySettings(threshold=threshold)
    with tempfile.TemporaryDirectory(prefix="beras-similarity-") as scratch:
        released = resolve_release(release, assignments_dir, reference, Path(scratch))
        owned = released.assignment.files.owned
        try:
            starter = starter_files(released.starter, owned)
            current = read_zips(submissions, owned)
            old = read_zips(archive, owned, archived=True) if archive is not None else []
            extra = [excluded_files(path, owned) for path in exclude or ()]
            pairs = compare_submissions(starter, current, old, settings, excluded=extra, jobs=jobs)
        except (SimilarityInputError, ValueError) as error:
            fail(str(error))
    flagged = [pair for pair in pairs if pair.score >= threshold]
    if json_out is not None:
        _write(json_out, json.dumps([pair.summary() for pair in flagged], indent=2) + "\n")
    if out is not None:
        by_name = {sub.name: sub for sub in (*current, *old)}
        _write(out, render_report(flagged, by_name, threshold, released.name))
    for pair in flagged:
        typer.echo(f"{pair.score:6.0%}  {pair.a}  {pair.b}  ({pair.score_ab:.0%} / {pair.score_ba:.0%})")
    typer.echo(f"{len(flagged)} of {len(current) * (len(current) - 1) // 2 + len(current) * len(old)} pairs "
               f"at or above {threshold:.0%}")


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {path}: {error.strerror}")
