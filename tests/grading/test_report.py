"""The batch CSV of `beras-grader grade DIR`: a zip's name or a message a spreadsheet would run is escaped."""

from __future__ import annotations

import csv
import io

from grader.result import GradeResult
from worker.grading.report import CSV_FIELDS, csv_row, format_csv


def test_the_batch_csv_escapes_formulas_and_keeps_numbers():
    graded = GradeResult.from_json({"status": "graded", "complete": True, "score": 10.0, "max_score": 100.0,
                                    "seed": 7, "integrity": {"tamper_proof": False}, "execution_time": 1.5,
                                    "tests": [{"name": "a", "outcome": "passed"},
                                              {"name": "b", "outcome": "failed"}]})
    refused = GradeResult.from_json({"status": "rejected", "tests": [],
                                     "output": "=HYPERLINK(\"http://evil.example\") is not a zip"})
    text = format_csv([csv_row("=cmd|' /C calc'!A0.zip", graded), csv_row("-2.zip", refused)])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_FIELDS
    assert rows[0]["submission"] == "'=cmd|' /C calc'!A0.zip" and rows[0]["score"] == "10.0"
    assert rows[0]["tests_passed"] == "1" and rows[0]["message"] == ""
    assert rows[1]["submission"] == "'-2.zip"
    assert rows[1]["message"] == "'=HYPERLINK(\"http://evil.example\") is not a zip"
