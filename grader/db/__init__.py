"""Storage: SQLAlchemy models, engines and sessions, Alembic migrations (SQLite by default, PostgreSQL by URL)."""

from grader.db.engine import engine_for, migrate, sessions
from grader.db.models import (TERMINAL, WAITING, Assignment, AssignmentVersion, Base, BatchKind, Extension, GateRun,
                              GateStatus, RegradeBatch, Result, Role, Status, Submission, Token, User, utcnow)

__all__ = ["TERMINAL", "WAITING", "Assignment", "AssignmentVersion", "Base", "BatchKind", "Extension", "GateRun",
           "GateStatus", "RegradeBatch", "Result", "Role", "Status", "Submission", "Token", "User",
           "engine_for", "migrate", "sessions", "utcnow"]
