"""The API gets its queue from the composition: ``open_queue`` attaches a dispatcher; the app makes none."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from grader.app import create_app
from worker.main import open_queue
from worker.queue.dispatch import EmbeddedDispatcher


def test_without_open_queue_the_app_refuses_a_runtime_with_no_dispatcher(runtime):
    with pytest.raises(RuntimeError, match="create_app needs open_queue"):
        with TestClient(create_app(runtime, background=False)):
            pass


def test_open_queue_attaches_the_embedded_pool_without_a_broker_and_closes_it(runtime):
    with TestClient(create_app(runtime, background=False, open_queue=open_queue)) as client:
        assert client.get("/healthz").json()["queue"] == "embedded"
        dispatcher = runtime.dispatcher
        assert isinstance(dispatcher, EmbeddedDispatcher)
    assert dispatcher._closed  # the app's stop closed the pool it was given
