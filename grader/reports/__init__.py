"""Grade reports for instructors: the course gradebook, per-assignment statistics, SVG charts, CSV exports."""

from grader.reports.assignment import (
    AssignmentReport,
    Bin,
    Counts,
    FailedTest,
    GroupRate,
    PassRate,
    assignment_report,
    failure_message,
    histogram,
    summarise_tests,
)
from grader.reports.charts import empty_svg, pass_rate_svg, score_histogram_svg
from grader.reports.course import Cell, CourseAssignment, CourseGradebook, StudentRow, course_gradebook
from grader.reports.exports import canvas_csv, gradescope_csv, number, safe_cell, split_name

__all__ = ["AssignmentReport", "Bin", "Cell", "Counts", "CourseAssignment", "CourseGradebook", "FailedTest",
           "GroupRate", "PassRate", "StudentRow", "assignment_report", "canvas_csv", "course_gradebook",
           "empty_svg", "failure_message", "gradescope_csv", "histogram", "number", "pass_rate_svg",
           "safe_cell", "score_histogram_svg", "split_name", "summarise_tests"]
