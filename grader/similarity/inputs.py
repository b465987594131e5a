"""The check's inputs from disk: a release's starter (the owned files as shipped) and a folder of zips."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from grader.intake.errors import IntakeError
from grader.intake.submission import read_submission
from grader.similarity.model import Submission


class SimilarityInputError(ValueError):
    """An input of the check is unusable; the message names it and what was expected."""


def starter_files(starter: Path, owned: Sequence[str]) -> dict[str, str]:
    """The owned files as the starter ships them (the code every student starts from).

    Args:
        starter: the starter's package folder (``Released.starter``).
        owned: the owned paths inside the package.

    Raises:
        SimilarityInputError: an owned file is not in the starter.
    """
    missing = [rel for rel in owned if not (starter / rel).is_file()]
    if missing:
        raise SimilarityInputError(f"the release's starter at {starter} lacks owned files "
                                   f"{', '.join(missing)}: release the assignment again")
    return {rel: (starter / rel).read_text(encoding="utf-8", errors="replace") for rel in owned}


def read_zips(folder: Path, owned: Sequence[str], *, archived: bool = False) -> list[Submission]:
    """Every ``.zip`` in ``folder`` as a Submission named by the zip's file name, in name order.

    Archived zips are named ``<folder name>/<zip name>``: last year's alice.zip is not this year's.

    The zips are read as intake reads an upload (same checks, owned files only).

    Raises:
        SimilarityInputError: the folder is missing or holds no zip, or a zip is refused (the message
            names the zip and intake's reason).
    """
    if not folder.is_dir():
        raise SimilarityInputError(f"{folder} is not a folder: expected a folder of submission zips")
    zips = sorted(path for path in folder.iterdir() if path.is_file() and path.suffix.lower() == ".zip")
    if not zips:
        raise SimilarityInputError(f"{folder} holds no .zip files: expected one zip per student")
    subs = []
    for path in zips:
        try:
            intake = read_submission(path, owned)
        except IntakeError as error:
            raise SimilarityInputError(f"{path}: {error}") from None
        subs.append(Submission(f"{folder.name}/{path.name}" if archived else path.name, intake.texts(),
                               archived))
    return subs


def excluded_files(path: Path, owned: Sequence[str]) -> dict[str, str]:
    """Code to leave out like the starter's: a starter zip, or a package folder, holding owned files.

    Raises:
        SimilarityInputError: ``path`` is neither, or holds none of the owned files.
    """
    if path.is_file():
        try:
            intake = read_submission(path, owned)
        except IntakeError as error:
            raise SimilarityInputError(f"--exclude {path}: {error}") from None
        return intake.texts()
    found = {rel: (path / rel).read_text(encoding="utf-8", errors="replace")
             for rel in owned if (path / rel).is_file()}
    if not found:
        raise SimilarityInputError(f"--exclude {path}: expected a zip or a package folder holding owned "
                                   f"files (e.g. {path / owned[0]}); found none")
    return found
