"""Grade reports for instructors: the course gradebook, per-assignment statistics, SVG charts and CSV exports."""

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
from grader.reports.course import Cell, CourseAssignment, CourseGradebook, StudentRow, course_gradebook

__all__ = ["AssignmentReport", "Bin", "Cell", "Counts", "CourseAssignment", "CourseGradebook", "FailedTest",
           "GroupRate", "PassRate", "StudentRow", "assignment_report", "course_gradebook", "failure_message",
           "histogram", "summarise_tests"]
