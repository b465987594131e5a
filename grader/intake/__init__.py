"""Submission intake: check a student's zip before anything runs, and write only their owned files."""

from grader.intake.errors import IntakeError
from grader.intake.layout import NOT_OWNED
from grader.intake.limits import IntakeLimits
from grader.intake.submission import Intake, read_submission
from grader.intake.writer import write_submission

__all__ = ["NOT_OWNED", "Intake", "IntakeError", "IntakeLimits", "read_submission", "write_submission"]
