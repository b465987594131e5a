"""The grade result: one typed model (Gradescope's fields plus ours), serialized once, parsed once.

``worker.grading.grade.grade_zip`` builds a ``GradeResult``; it becomes JSON only at the edge
(``to_json``: ``results.json``, the database's ``results.data``) and a reader of that JSON
parses it back with ``GradeResult.from_json``. Gradescope's ``results.json`` fields keep their
names: ``score``, ``max_score``, ``execution_time``, ``output``, ``visibility``,
``stdout_visibility``, ``tests[]`` (``name``, ``number``, ``score``, ``max_score``, ``status``,
``output``, ``visibility``, ``tags``). Ours: ``status`` (graded / rejected / error: "could not be
graded" is never a zero), ``complete``, ``seed``, ``assignment``, ``integrity``, ``sandbox``,
``environment``, ``resources``, ``phases``, ``submission``, ``problems``, per test ``outcome``,
``duration_s`` and ``fetch_digest``; the worker adds ``logs`` and, for a replay, ``replay``.

Pydantic models rather than dataclasses: the same class validates the JSON read back from the
database (rows written by older versions included, hence the defaults) and writes it, and the
harness's results file is already read with pydantic. Frozen: a result is built, not edited.
The control plane owns it, so both planes import it (the harness, which runs in the sandbox, does not).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Number = int | float  # kept as given: a score written as 3 stays 3 in the JSON, 3.0 stays 3.0


class ResultStatus(str, Enum):
    """Whether the submission was graded; ``str``-valued, so the JSON says ``"graded"`` as before."""

    GRADED = "graded"  # whatever the score
    REJECTED = "rejected"  # the zip was refused: ``output`` says why
    ERROR = "error"  # the grader failed: ``output`` says so; the student is not given a zero

    def __str__(self) -> str:
        return self.value


class Outcome(str, Enum):
    """Why a test passed or not, as the grade reports show it."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    NOT_RUN = "not_run"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    CRASHED = "crashed"
    INFRASTRUCTURE_ERROR = "infrastructure_error"

    def __str__(self) -> str:
        return self.value


class TestStatus(str, Enum):
    """Gradescope's per-test status: passed or failed (the outcome says why)."""

    __test__ = False  # not a pytest class

    PASSED = "passed"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class TestResult(_Frozen):
    """One test of the grade result, with the release's points."""

    __test__ = False  # not a pytest class

    name: str
    number: str = ""
    score: Number = 0.0
    max_score: Number = 0.0
    status: TestStatus = TestStatus.FAILED
    outcome: Outcome = Outcome.FAILED
    output: str = ""
    visibility: str = "hidden"
    tags: tuple[str, ...] = ()
    duration_s: Number = 0.0
    fetch_digest: str = ""

    @property
    def group(self) -> str:
        """The points group the test belongs to (its first tag)."""
        return self.tags[0] if self.tags else ""

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED


class AssignmentRef(_Frozen):
    name: str | None = None
    version: str | None = None


class MissingGuarantee(_Frozen):
    guarantee: str
    why: str = ""


class Integrity(_Frozen):
    """Whether the run could be tampered with, and which of the sandbox's guarantees it lacked."""

    tamper_proof: bool = False
    note: str = ""
    confined: bool = False
    missing: tuple[MissingGuarantee, ...] = ()


class SandboxRef(_Frozen):
    backend: str | None = None


class Environment(_Frozen):
    """Backend, image tag, and the versions the launcher read inside the sandbox (None where unknown)."""

    backend: str | None = None
    image: str | None = None
    python: str | None = None
    numpy: str | None = None
    pytest: str | None = None
    # False until the launcher's reading is in: a result that never reached the sandbox writes no versions.
    read_in_sandbox: bool = Field(False, exclude=True)


class Resources(_Frozen):
    """What the run used and the limits the kernel held (None where the backend could not say)."""

    wall_s: Number | None = None
    cpu_s: Number | None = None
    peak_memory_mb: Number | None = None
    student_processes: int | None = None
    student_output_bytes: int | None = None
    oom_killed: bool | None = None
    memory_limit_mb: Number | None = None
    cpu_limit: Number | None = None
    pids_limit: Number | None = None


class SubmissionFiles(_Frozen):
    """What intake took from the zip."""

    taken: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    summary: str = ""


# What a result holds when grading failed on our side before any run, nothing else: the worker's (a lost
# sandbox, a grader bug), and a batch's row for one zip whose grading raised.
WORKER_FAILURE_KEYS = ("status", "score", "max_score", "tests", "output", "problems")
BATCH_FAILURE_KEYS = ("status", "score", "max_score", "tests", "seed", "output")


class GradeResult(_Frozen):
    """One submission's grade: what ``results.json`` and the database's ``results.data`` hold."""

    score: Number = 0.0
    max_score: Number = 0.0
    execution_time: Number = 0.0
    output: str = ""
    visibility: str = "visible"
    stdout_visibility: str = "hidden"
    tests: tuple[TestResult, ...] = ()
    status: ResultStatus = ResultStatus.ERROR
    complete: bool = False
    seed: int | None = None
    assignment: AssignmentRef = AssignmentRef()
    integrity: Integrity = Integrity(note="not graded")
    sandbox: SandboxRef = SandboxRef()
    environment: Environment = Environment()
    resources: Resources | None = None  # None: the run never reached the sandbox (written as {})
    phases: dict[str, Number] = Field(default_factory=dict)
    submission: SubmissionFiles | None = None  # None: intake refused the zip (written as {})
    problems: tuple[str, ...] = ()
    logs: dict[str, str] | None = None  # the judge's and the student's logs, as blob digests (the worker's)
    replay: bool | None = None  # True: a replay of an earlier run's seed
    only: tuple[str, ...] | None = Field(None, exclude=True)  # a partial result's keys: see ``not_graded``

    @classmethod
    def not_graded(cls, output: str, keys: tuple[str, ...], **fields: Any) -> GradeResult:
        """An ``error`` result for grading that failed on our side before any run, holding ``keys`` only.

        Args:
            output: what went wrong, for the student or TA.
            keys: ``WORKER_FAILURE_KEYS`` or ``BATCH_FAILURE_KEYS``.
            fields: other fields (``problems``, ``seed``).
        """
        return cls(output=output, only=keys, **fields)

    @property
    def partial(self) -> bool:
        """A ``not_graded`` result: it never ran, and says nothing of integrity or time."""
        return self.only is not None

    @property
    def graded(self) -> bool:
        return self.status is ResultStatus.GRADED

    @property
    def missing_files(self) -> tuple[str, ...]:
        """Owned files the zip did not hold (their tests fail)."""
        return self.submission.missing if self.submission else ()

    def lost_groups(self) -> list[str]:
        """The point groups in which the result lost points, in test order."""
        return list(dict.fromkeys(test.group for test in self.tests if test.score < test.max_score))

    def to_json(self) -> dict[str, Any]:
        """The result as JSON data, in the order and with the names ``results.json`` has always had."""
        data = self.model_dump(mode="json")
        if self.only is not None:
            return {key: data[key] for key in self.only}
        for key in ("resources", "submission"):
            if data[key] is None:
                data[key] = {}
        for key in ("logs", "replay"):
            if data[key] is None:
                del data[key]
        if not self.environment.read_in_sandbox:
            data["environment"] = {key: data["environment"][key] for key in ("backend", "image")}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GradeResult:
        """Parse JSON data written by ``to_json`` (or by an older worker: missing fields take their defaults).

        Raises:
            pydantic.ValidationError: the data is not a grade result.
        """
        fixed = dict(data)
        for key in ("resources", "submission"):
            if fixed.get(key) == {}:
                fixed[key] = None
        if isinstance(fixed.get("environment"), dict) and "python" in fixed["environment"]:
            fixed["environment"] = {**fixed["environment"], "read_in_sandbox": True}
        return cls.model_validate(fixed)
