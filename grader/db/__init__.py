"""Storage: SQLAlchemy models, engines and sessions, Alembic migrations (SQLite, or PostgreSQL by URL)."""

from grader.db.engine import PoolLimits, engine_for, migrate, sessions
from grader.db.models import (
                              TERMINAL,
                              WAITING,
                              Assignment,
                              AssignmentVersion,
                              Base,
                              BatchKind,
                              Extension,
                              GateRun,
                              GateStatus,
                              RefusedUpload,
                              RegradeBatch,
                              Result,
                              Role,
                              SimilarityPair,
                              SimilarityRun,
                              SimilarityStatus,
                              Status,
                              Submission,
                              Token,
                              TokenKind,
                              User,
                              utcnow,
)

__all__ = ["TERMINAL", "WAITING", "Assignment", "AssignmentVersion", "Base", "BatchKind", "Extension",
           "GateRun", "GateStatus", "PoolLimits", "RefusedUpload", "RegradeBatch", "Result", "Role",
           "SimilarityPair", "SimilarityRun", "SimilarityStatus", "Status",
           "Submission", "Token", "TokenKind", "User", "engine_for", "migrate", "sessions", "utcnow"]
