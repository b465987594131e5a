"""The queue seam: routing, the queue names, and the worker's check of the names it is given."""

from __future__ import annotations

import pytest

from grader.dispatch import QUEUES, QueueName, queue_for
from worker.main import WorkerError, queue_names


@pytest.mark.parametrize("queue, regrade, expected", [
    ("cpu", False, QueueName.CPU), ("cpu", True, QueueName.REGRADE),
    ("gpu", False, QueueName.GPU), ("gpu", True, QueueName.GPU),  # a GPU regrade still needs a GPU
])
def test_regrades_of_cpu_work_wait_in_their_own_queue(queue, regrade, expected):
    assert queue_for(queue, regrade) == expected
    assert queue_for(queue, regrade) == expected.value  # the names are the strings the broker sees


def test_the_queues_are_the_three_names():
    assert [str(name) for name in QUEUES] == ["cpu", "gpu", "regrade"]


def test_a_worker_takes_the_names_it_is_given():
    assert queue_names(" cpu, regrade ,") == [QueueName.CPU, QueueName.REGRADE]


@pytest.mark.parametrize("text, named", [("cpu,tpu", "tpu"), (" , ", "(none given)")])
def test_a_worker_refuses_an_unknown_queue_naming_it_and_the_choices(text, named):
    with pytest.raises(WorkerError) as refused:
        queue_names(text)
    assert refused.value.code == 2
    assert f"unknown queue(s) {named}; expected some of: cpu, gpu, regrade" == str(refused.value)
