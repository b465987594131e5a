"""Users and their credentials: add a user (prints an API token), import a roster CSV, resolve a token to a user."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.db import Role, Token, User, utcnow
from grader.service.errors import ServiceError

_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
TOKEN_PREFIX = "bg_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise ServiceError(400, f"unknown role {value!r}; expected one of: student, ta, instructor") from None


def check_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise ServiceError(400, f"{email!r} is not an email address (expected name@domain)")
    return email


def new_token(session: Session, user: User, kind: str = "api", lifetime: timedelta | None = None) -> str:
    """Make a token for ``user``; only its hash is stored, so the returned value is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(Token(user_id=user.id, token_sha256=_digest(token), kind=kind,
                      expires_at=utcnow() + lifetime if lifetime else None))
    return token


def add_user(session: Session, email: str, role: str | Role, name: str = "") -> tuple[User, str]:
    """Create a user and an API token; an existing email is an error (nothing changes)."""
    email = check_email(email)
    role = parse_role(role) if isinstance(role, str) else role
    if session.scalar(select(User).where(User.email == email)):
        raise ServiceError(409, f"a user with email {email} already exists")
    user = User(email=email, role=role, name=name.strip())
    session.add(user)
    session.flush()
    token = new_token(session, user)
    session.commit()
    return user, token


@dataclass
class RosterImport:
    added: list[tuple[str, str, str]]  # (email, role, token)
    updated: list[str]
    unchanged: list[str]


def import_roster(session: Session, text: str) -> RosterImport:
    """Add or update users from a CSV with columns ``email`` and ``role`` (and optionally ``name``).

    Every row is checked before anything is written: one bad row stops the import and names its line.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    fields = {f.strip().lower() for f in reader.fieldnames or []}
    if not {"email", "role"} <= fields:
        raise ServiceError(400, f"the roster needs a header with columns email and role (and optionally name); "
                                f"found: {', '.join(sorted(fields)) or 'no header'}")
    rows, problems, seen = [], [], set()
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        try:
            email = check_email(row.get("email", ""))
            role = parse_role(row.get("role", "") or "student")
        except ServiceError as error:
            problems.append(f"line {line}: {error.message}")
            continue
        if email in seen:
            problems.append(f"line {line}: {email} appears twice")
        seen.add(email)
        rows.append((email, role, row.get("name", "")))
    if problems:
        raise ServiceError(400, "the roster was not imported:\n" + "\n".join(problems[:20]))
    outcome = RosterImport([], [], [])
    for email, role, name in rows:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, role=role, name=name)
            session.add(user)
            session.flush()
            outcome.added.append((email, role.value, new_token(session, user)))
        elif user.role != role or (name and user.name != name):
            user.role, user.name = role, name or user.name
            outcome.updated.append(email)
        else:
            outcome.unchanged.append(email)
    session.commit()
    return outcome


def user_for_token(session: Session, token: str, now: datetime | None = None) -> User | None:
    row = session.scalar(select(Token).where(Token.token_sha256 == _digest(token)))
    if row is None or (row.expires_at is not None and row.expires_at <= (now or utcnow())):
        return None
    return row.user


def drop_token(session: Session, token: str) -> None:
    row = session.scalar(select(Token).where(Token.token_sha256 == _digest(token)))
    if row is not None:
        session.delete(row)
        session.commit()
