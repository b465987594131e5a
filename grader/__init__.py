"""Beras Grader's control plane: authoring, intake, database, HTTP API, reports and CLI."""

__version__ = "0.1.0"
