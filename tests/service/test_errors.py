"""The one error handler: each typed service error answers with its status, as JSON or as the error page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from grader.app import create_app
from grader.service import errors
from tests.service.conftest import Parked, make_runtime

STATUS = {errors.Invalid: 400, errors.Unauthenticated: 401, errors.Forbidden: 403, errors.NotFound: 404,
          errors.UnknownUser: 404, errors.Conflict: 409, errors.PayloadTooLarge: 413,
          errors.UnsupportedMedia: 415, errors.Unprocessable: 422, errors.RateLimited: 429}
KINDS = {kind.__name__: kind for kind in STATUS}


@pytest.fixture
def client(tmp_path):
    runtime = make_runtime(tmp_path)
    runtime.dispatcher = Parked(runtime)
    app = create_app(runtime, background=False)

    def refuse(kind: str):
        detail = {"retry_after_s": 7} if kind == "RateLimited" else {}
        raise KINDS[kind](f"refused as {kind}", **detail)

    # One route for the API, one for the pages: the handler answers each audience in its own way.
    app.add_api_route("/api/refuse/{kind}", refuse)
    app.add_api_route("/refuse/{kind}", refuse)
    with TestClient(app) as client:
        yield client


def test_every_error_type_is_a_service_error_with_its_status():
    for kind, status in STATUS.items():
        error = kind("why")
        assert isinstance(error, errors.ServiceError) and error.status == status and error.message == "why"
    assert errors.not_found("submission", 4).message == "no submission 4"
    assert isinstance(errors.not_found("gate run", 1), errors.NotFound)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_api_answers_json_with_the_types_status(client, kind):
    response = client.get(f"/api/refuse/{kind}")
    assert response.status_code == STATUS[KINDS[kind]]
    expected = {"error": f"refused as {kind}"}
    if kind == "RateLimited":
        expected["retry_after_s"] = 7
        assert response.headers["retry-after"] == "7"
    assert response.json() == expected


@pytest.mark.parametrize("kind", ["NotFound", "Forbidden", "RateLimited"])
def test_pages_answer_with_the_error_page(client, kind):
    response = client.get(f"/refuse/{kind}")
    assert response.status_code == STATUS[KINDS[kind]]
    assert response.headers["content-type"].startswith("text/html")
    assert f"Refused as {kind}" in response.text  # the page capitalises the message
    assert ("retry-after" in response.headers) == (kind == "RateLimited")
