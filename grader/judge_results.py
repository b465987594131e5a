"""The judge's results file (``grader.harness.results`` writes it in the sandbox), as one typed model.

The worker reads it to build a grade (``worker.grading.results``), the release gate to check the
suites (``grader.authoring.suite``); both parse it here, once, and read attributes, never keys. The
harness itself stays free of pydantic: it runs inside the sandbox on the standard library.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from grader.result import Outcome

# The plugin cuts a test's message to 8,000 characters; twice that leaves room for its escaping.
MAX_OUTPUT_CHARS = 16_000


class JudgeTest(BaseModel):
    """One test as the judge ran it; its points are the release's (the worker checks them against it)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    __test__ = False  # not a pytest class

    name: str = Field(max_length=1000)
    status: Literal["passed", "failed", "skipped", "not_run"]
    outcome: Outcome = Outcome.FAILED
    score: float = Field(ge=0, allow_inf_nan=False)
    max_score: float = Field(ge=0, allow_inf_nan=False)
    group: str | None = None
    output: str = Field("", max_length=MAX_OUTPUT_CHARS)
    duration_s: float = Field(0.0, ge=0, allow_inf_nan=False)
    longest_call_s: float = Field(0.0, ge=0, allow_inf_nan=False)  # into the student's code
    fetch_digest: str = Field("", max_length=128)
    fetches: list[str] | None = None  # with --fetch-log: each fetch, "N what:digest"


class JudgeResults(BaseModel):
    """The whole file: every collected test, and what the run traced (the gate's runs only)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    complete: bool
    seed: int
    tests: list[JudgeTest] = Field(max_length=100_000)
    score: float = 0.0
    max_score: float = 0.0
    problems: list[str] = []
    execution_time_s: float = Field(0.0, ge=0, allow_inf_nan=False)
    lines_run: dict[str, list[int]] | None = None  # --trace-dir: the lines each file ran
    calls_by_test: dict[str, list[str]] | None = None  # --trace-calls: the functions each test entered
