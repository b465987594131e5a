"""The seam between the control plane and the queue: queue names, routing, and the ``Dispatcher`` protocol."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class QueueName(StrEnum):
    """A queue of grading jobs: new submissions on ``cpu`` or ``gpu``, CPU regrades on ``regrade``."""

    CPU = "cpu"
    GPU = "gpu"
    REGRADE = "regrade"


QUEUES: tuple[QueueName, ...] = tuple(QueueName)


def queue_for(queue: str, regrade: bool) -> QueueName:
    """The queue a job goes to: CPU regrades wait in their own, so a regrade-all never starves new
    submissions; GPU ones need a GPU.

    Args:
        queue: the assignment's pool (``cpu`` or ``gpu``).
        regrade: whether the job is a regrade.

    Raises:
        ValueError: ``queue`` is not a queue name.
    """
    return QueueName.REGRADE if regrade and queue == QueueName.CPU else QueueName(queue)


class Dispatcher(Protocol):
    """Sends "grade submission N on queue Q" (and "run similarity check N", on the regrade queue) to whatever
    grades; the worker's transports implement it."""

    def enqueue(self, submission_id: int, queue: str, countdown_s: float = 0.0) -> bool:
        """Send ``submission_id`` to ``queue`` (after ``countdown_s``); False when it could not be sent.

        Never raises: a lost send is picked up again by the reconciler.
        """
        ...

    def enqueue_similarity(self, run_id: int) -> bool:
        """Send similarity check ``run_id`` to the regrade queue; False when it could not be sent.

        Never raises: a lost send is picked up again by the reconciler.
        """
        ...

    def close(self) -> None:
        """Stop sending (and, for an in-process pool, grading)."""
        ...
