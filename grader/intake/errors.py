"""IntakeError: a submission refused before anything runs, with a message the student can act on."""

from __future__ import annotations


class IntakeError(ValueError):
    """A submission zip was refused.

    ``str(error)`` is shown to the student as is: it says what was wrong and what was expected,
    in plain words, and never carries a traceback or an internal path.
    """


# The fix for most refusals, appended to their messages.
REMAKE = "make the zip again (e.g. with the starter's make_submission.py) and submit it"
