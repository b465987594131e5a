"""Beras Grader's data plane: the Celery app, grading tasks and sandbox backends."""
