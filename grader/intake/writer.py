"""write_submission: the owned files of an Intake written into a fresh job folder, and nowhere else."""

from __future__ import annotations

import os
from pathlib import Path

from grader.intake.errors import IntakeError
from grader.intake.names import entry_path
from grader.intake.submission import Intake

# O_EXCL: never overwrite; O_NOFOLLOW: never write through a symlink planted at the target.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def write_submission(intake: Intake, job_dir: Path) -> list[Path]:
    """Write each file of ``intake`` to ``job_dir/<package>/<rel>``.

    Args:
        intake: what ``read_submission`` took from the zip.
        job_dir: a folder that does not exist yet or is empty; created with its parents.

    Returns:
        The paths written, resolved, in the order of ``intake.files``.

    Raises:
        FileExistsError: ``job_dir`` is a file, or a folder that is not empty.
        IntakeError: a file path or the package name in the intake is not a plain relative path,
            or a target resolves outside ``job_dir`` (an Intake built by hand; ``read_submission``
            never makes one).
    """
    job_dir = Path(job_dir)
    if job_dir.exists() and (not job_dir.is_dir() or any(job_dir.iterdir())):
        raise FileExistsError(f"the job folder {job_dir} must not exist yet or be empty")
    _check_relative(intake.package, "package")
    if "/" in intake.package:
        raise IntakeError(f"refusing to write package {intake.package!r}: not a single folder name")
    for rel in intake.files:
        _check_relative(rel, "file")
    job_dir.mkdir(parents=True, exist_ok=True)
    root = job_dir.resolve(strict=True)
    written: list[Path] = []
    for rel, content in intake.files.items():
        target = root / intake.package / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        # Resolve what is on disk now: a symlinked folder would lead out even from a clean name.
        if not target.parent.resolve(strict=True).is_relative_to(root):
            raise IntakeError(f"refusing to write {rel!r}: it resolves outside the job folder")
        descriptor = os.open(target, _CREATE, 0o644)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        written.append(target)
    return written


def _check_relative(path: str, what: str) -> None:
    """Refuse anything but a clean relative POSIX path (no backslash, '.', '..' or empty part)."""
    try:
        clean, _ = entry_path(path)
    except IntakeError:
        clean = None
    if clean != path:
        raise IntakeError(f"refusing to write {what} {path!r}: not a plain relative path inside the job "
                          "folder")
