"""The findings behind the deadline work, each reproduced: the rate-limit race, refused uploads, big JSON
bodies, sign-in guessing, session tokens used as API tokens, the CSRF check skipped by an empty header, a
full pool."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from grader.db import Extension, RefusedUpload, Submission, User, engine_for
from grader.http.throttle import Throttle, keys_for
from grader.runtime import Runtime
from grader.service.errors import ServiceError
from grader.service.releases import publish
from grader.service.submissions import accept
from grader.service.users import add_user
from grader.settings import Settings
from tests.service.conftest import ASSIGNMENTS, REFERENCE, make_runtime, open_api, submission
from tests.service.processes import Postgres

LIMIT = 10  # beras-mlp's rate_limit_count
TWENTY_MIB = 20 * 2**20


@pytest.fixture
def api(tmp_path, mlp_release, request):
    """The in-process app (SQLite); a test passes settings with ``@pytest.mark.parametrize("api", [{...}],
    indirect=True)``."""
    settings = {"sandbox": "local", "max_upload_mb": 1, **getattr(request, "param", {})}
    runtime = make_runtime(tmp_path / "data", **settings)
    with open_api(runtime, request, mlp_release) as api:
        yield api


def _together(count: int, call) -> list:
    """``call()`` from ``count`` threads released at the same instant; what each returned or raised."""
    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = call()
        except Exception as error:  # noqa: BLE001 (the outcome under test)
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes


# ---- the rate limit ----------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def service(request, tmp_path, mlp_release):
    """A runtime on each database with beras-mlp published and one student."""
    postgres = None
    url = None
    if request.param == "postgresql":
        try:
            postgres = Postgres(tmp_path / "pg").init()
        except FileNotFoundError as why:
            pytest.skip(f"not run: {why}")
        url = postgres.url
    runtime = Runtime(Settings(data_dir=tmp_path / "data", database_url=url, assignments_dir=ASSIGNMENTS,
                               reference=REFERENCE))
    runtime.migrate()
    with runtime.sessions() as session:
        publish(session, runtime.blobs, *mlp_release)
        runtime.student_id = add_user(session, "racer@course.edu", "student")[0].id
    yield runtime
    engine_for(runtime.settings.database).dispose()
    if postgres:
        postgres.stop()


def test_twelve_uploads_at_once_get_exactly_the_rate_limit_through(service, mlp):
    data = submission(mlp)

    def upload():
        with service.sessions() as session:
            return accept(session, service.blobs, session.get(User, service.student_id), "beras-mlp", data,
                          "s.zip", service.settings.max_upload_bytes).id

    outcomes = _together(LIMIT + 2, upload)
    refused = [o for o in outcomes if isinstance(o, ServiceError)]
    assert [e.status for e in refused] == [429, 429], outcomes
    assert len({o for o in outcomes if isinstance(o, int)}) == LIMIT
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == LIMIT


@pytest.mark.parametrize("api", [{"uploads_per_student": 20}], indirect=True)
def test_twelve_uploads_at_once_over_http_get_exactly_the_rate_limit_through(api, mlp):
    data = submission(mlp)
    replies = _together(LIMIT + 2, lambda: api.submit("ann", data))
    assert sorted(r.status_code for r in replies) == [201] * LIMIT + [429, 429], [r.text for r in replies]
    too_many = next(r for r in replies if r.status_code == 429)
    assert "the limit is 10" in too_many.json()["error"] and int(too_many.headers["retry-after"]) > 0
    assert api.count() == LIMIT


def test_refused_uploads_count_toward_the_rate_limit(api, mlp):
    for _ in range(LIMIT):
        assert api.submit("ann", b"not a zip").status_code == 422
    after = api.submit("ann", submission(mlp))
    assert after.status_code == 429, after.text
    assert "refused uploads included" in after.json()["error"]
    assert api.count() == 0 and api.count(RefusedUpload) == LIMIT
    assert api.submit("ben", submission(mlp)).status_code == 201  # another student is not held back
    assert not list(api.runtime.settings.incoming_dir.glob("*"))  # every received file was stored or deleted


def test_too_many_uploads_in_flight_from_one_student_are_refused(api, mlp):
    inflight = api.client.app.state.inflight
    # ann's, still arriving
    inflight._count[api_user_id(api, "ann")] = api.runtime.settings.uploads_per_student
    busy = api.submit("ann", submission(mlp))
    assert busy.status_code == 429 and "in progress" in busy.json()["error"] and busy.headers["retry-after"]
    assert api.submit("ben", submission(mlp)).status_code == 201
    inflight._count.clear()
    assert api.submit("ann", submission(mlp)).status_code == 201


def api_user_id(api, who: str) -> int:
    with api.runtime.sessions() as session:
        return session.scalar(select(User.id).where(User.email == f"{who}@course.edu"))


# ---- request bodies ----------------------------------------------------------------------------------------

@pytest.fixture
def json_parses(monkeypatch) -> list[int]:
    """The size of every document JSON-parsed from now on."""
    sizes: list[int] = []
    real = json.loads

    def spy(document, *args, **kwargs):
        sizes.append(len(document))
        return real(document, *args, **kwargs)

    monkeypatch.setattr(json, "loads", spy)
    return sizes


@pytest.mark.parametrize("api", [{"max_upload_mb": 20}], indirect=True)  # the default upload cap
def test_a_20_mib_json_body_is_refused_before_it_is_parsed(api, json_parses):
    body = b'{"token": "' + b"a" * TWENTY_MIB + b'"}'
    declared = api.client.post("/api/session", content=body, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and "64 KiB" in declared.json()["error"]
    streamed = api.client.post("/api/session",
                               content=iter([body[i:i + 2**20] for i in range(0, len(body), 2**20)]),
                               headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert not [size for size in json_parses if size > 2**20]


# ---- signing in --------------------------------------------------------------------------------------------

def test_failed_sign_ins_are_throttled_per_address(api):
    for attempt in range(api.runtime.settings.sign_in_burst):
        assert api.client.post("/api/session", json={"token": f"bg_guess{attempt}"}).status_code == 401
    throttled = api.client.post("/api/session", json={"token": "bg_guess-again"})
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    assert "too many failed sign-in attempts" in throttled.json()["error"]
    form = api.client.post("/login", data={"token": "bg_guess-by-form"}, follow_redirects=False)
    assert form.status_code == 429 and form.headers["retry-after"]
    bearer = api.client.get("/api/me", headers={"Authorization": "Bearer bg_guess-as-bearer"})
    assert bearer.status_code == 429


def test_the_throttle_refills_and_counts_token_prefixes_across_addresses(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("grader.http.throttle.time.monotonic", lambda: clock[0])
    throttle = Throttle(burst=3, per_s=1.0)
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):  # one guessed prefix, three addresses
        throttle.check(keys_for(address, "bg_abcdefgh-guess"))
        throttle.failed(keys_for(address, "bg_abcdefgh-guess"))
    with pytest.raises(ServiceError) as caught:
        throttle.check(keys_for("10.0.0.4", "bg_abcdefgh-other"))
    assert caught.value.status == 429 and caught.value.detail["retry_after_s"] == 1
    throttle.check(keys_for("10.0.0.4", "bg_zzzzzzzz-other"))  # another prefix from a fresh address is fine
    clock[0] += 1.0
    throttle.check(keys_for("10.0.0.4", "bg_abcdefgh-other"))  # a second later, one more try


def test_a_session_cookie_is_neither_a_bearer_token_nor_a_sign_in_token(api):
    signed = api.client.post("/api/session", json={"token": api.tokens["ben"]})
    cookie = signed.cookies["beras_session"]
    api.client.cookies.clear()
    as_bearer = api.client.get("/api/me", headers={"Authorization": f"Bearer {cookie}"})
    assert as_bearer.status_code == 401
    renewed = api.client.post("/api/session", json={"token": cookie})
    assert renewed.status_code == 401 and "beras_session" not in renewed.cookies
    api.client.cookies.set("beras_session", api.tokens["ben"])  # nor is an API token a cookie
    assert api.client.get("/api/me").status_code == 401
    api.client.cookies.set("beras_session", cookie)
    assert api.client.get("/api/me").json()["email"] == "ben@course.edu"


def test_an_empty_authorization_header_does_not_skip_the_csrf_check(api):
    assert api.client.post("/api/session", json={"token": api.tokens["tom"]}).status_code == 200
    grant = {"email": "ann@course.edu", "days": 2}
    for header in ("", "Bearer", "Bearer   "):
        forged = api.client.post("/api/assignments/beras-mlp/extensions", json=grant,
                                 headers={"Authorization": header})
        assert forged.status_code == 403 and "CSRF" in forged.json()["error"], (header, forged.text)
    assert api.count(Extension) == 0
    # A real Bearer caller needs no CSRF token, cookie or not.
    bearer = api.client.post("/api/assignments/beras-mlp/extensions", json=grant, headers=api.auth("tom"))
    assert bearer.status_code == 200 and api.count(Extension) == 1


# ---- a full pool -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("api", [{"db_connections": 2, "db_wait_s": 0.5}], indirect=True)
def test_a_request_that_cannot_get_a_connection_is_told_to_retry_and_health_still_answers(api):
    engine = engine_for(api.runtime.settings.database)
    held = [engine.connect() for _ in range(2)]
    try:
        busy = api.client.get("/api/me", headers=api.auth("ann"))
        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == "1" and "busy" in busy.json()["error"]
        health = api.client.get("/healthz")
        assert health.status_code == 200 and health.json()["database"] == "ok"
    finally:
        for connection in held:
            connection.close()
    assert api.client.get("/api/me", headers=api.auth("ann")).status_code == 200
