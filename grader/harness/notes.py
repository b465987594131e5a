"""Notes a test attaches to its own result, shown to the student even when the test passes."""

from __future__ import annotations

_pending: list[str] = []


def note(text: str) -> None:
    """Attach ``text`` to the running test's feedback (e.g. "your Conv2D took 3.1x the reference's time")."""
    _pending.append(str(text))
    print(text)  # students running the public tests locally see it with ``pytest -rA``


def take() -> list[str]:
    """Return and clear the notes of the test that just ran."""
    notes = _pending[:]
    _pending.clear()
    return notes
