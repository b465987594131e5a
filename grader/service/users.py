"""Users and credentials: add a user (prints an API token), import a roster CSV, resolve a token to a user."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grader.db import Role, Token, TokenKind, User, utcnow
from grader.service.errors import Conflict, Invalid, ServiceError

# A sane address, not all that RFC 5322 allows: letters, digits and ``. _ % + -`` before the @ (starting with
# a letter, digit or _, so no cell a spreadsheet runs as a formula), a hostname of two or more labels after
# it.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"[a-z0-9_][a-z0-9._%+-]{{0,63}}@{_LABEL}(?:\.{_LABEL})+", re.ASCII)
MAX_EMAIL = 254  # the longest address SMTP carries
MAX_NAME = 200  # users.name's length in the database
TOKEN_PREFIX = "bg_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _shown(value: str, most: int = 60) -> str:
    """A value as an error quotes it: cut short, so a huge cell is not sent back whole."""
    return value if len(value) <= most else value[: most - 3] + "..."


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise Invalid(f"unknown role {_shown(value)!r}; expected one of: student, ta, instructor") \
            from None


def check_name(name: str) -> str:
    """The display name trimmed.

    Raises:
        ServiceError: 400 for a name longer than the database keeps (``MAX_NAME`` characters).
    """
    name = name.strip()
    if len(name) > MAX_NAME:
        raise Invalid(f"the name {_shown(name)!r} has {len(name)} characters; expected at most {MAX_NAME}")
    return name


def check_email(email: str) -> str:
    """The address trimmed and lowercased.

    Raises:
        ServiceError: 400 when it is not a plain address (letters, digits and ``. _ % + -`` before the @, a
            hostname such as ``uni.edu`` after it, at most 254 characters).
    """
    email = email.strip().lower()
    if len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email) or ".." in email.partition("@")[0]:
        raise Invalid(f"{_shown(email)!r} is not an email address; expected name@domain, e.g. ana@uni.edu "
                      f"(letters, digits and . _ % + - before the @, at most {MAX_EMAIL} characters)")
    return email


def new_token(session: Session, user: User, kind: TokenKind = TokenKind.API,
              lifetime: timedelta | None = None) -> str:
    """Make a token for ``user``; only its hash is stored, so the returned value is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(Token(user_id=user.id, token_sha256=_digest(token), kind=kind,
                      expires_at=utcnow() + lifetime if lifetime else None))
    return token


def add_user(session: Session, email: str, role: str | Role, name: str = "") -> tuple[User, str]:
    """Create a user and an API token; an existing email is an error (nothing changes)."""
    email, name = check_email(email), check_name(name)
    role = parse_role(role) if isinstance(role, str) else role
    if session.scalar(select(User).where(User.email == email)):
        raise Conflict(f"a user with email {email} already exists")
    user = User(email=email, role=role, name=name)
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

    Raises:
        Invalid: naming each bad line (at most 20): text that is not CSV, a row with more cells than
            the header has columns, an address that is not one, an unknown role, a name that is too long, an
            address given twice.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = _roster_header(reader)
    rows, problems = _roster_rows(reader, header)
    if problems:
        raise Invalid("the roster was not imported:\n" + "\n".join(problems[:20]))
    outcome = _store_roster(session, rows)
    session.commit()
    return outcome


def _roster_header(reader: csv.DictReader) -> list[str]:
    """The roster's header row, which must name the columns email and role.

    Raises:
        Invalid: the header is not CSV, or lacks email or role.
    """
    try:
        header = reader.fieldnames or []
    except csv.Error as error:
        raise Invalid(f"the roster was not imported: its header (line 1) is not CSV ({error}); "
                      "expected a line such as email,role,name") from None
    fields = {f.strip().lower() for f in header}
    if not {"email", "role"} <= fields:
        raise Invalid(f"the roster needs a header with columns email and role (and optionally name); "
                      f"found: {_shown(', '.join(sorted(fields))) or 'no header'}")
    return list(header)


def _roster_rows(reader: csv.DictReader, header: list[str]) -> tuple[list[tuple[str, Role, str]], list[str]]:
    """Every row checked: the good ones as (email, role, name), and a problem naming each bad one's line."""
    rows, problems, seen = [], [], set()
    while True:
        start = reader.line_num + 1
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            # The reader cannot go on past a record it cannot read (a cell over csv's 128 KiB field limit).
            problems.append(f"line {start}: cannot be read as CSV ({error}); expected cells of plain text "
                            "under 128 KiB")
            break
        line = reader.line_num
        checked = _roster_row(raw, header)
        if isinstance(checked, str):
            problems.append(f"line {line}: {checked}")
            continue
        email = checked[0]
        if email in seen:
            problems.append(f"line {line}: {email} appears twice")
        seen.add(email)
        rows.append(checked)
    return rows, problems


def _roster_row(raw: dict, header: list[str]) -> tuple[str, Role, str] | str:
    """One row as (email, role, name), or what is wrong with it."""
    if None in raw:
        return (f"{len(header) + len(raw[None])} cells, but the header has "
                f"{len(header)} columns ({', '.join(header)}); quote a cell that holds a comma")
    row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
    try:
        return (check_email(row.get("email", "")), parse_role(row.get("role", "") or "student"),
                check_name(row.get("name", "")))
    except ServiceError as error:
        return error.message


def _store_roster(session: Session, rows: list[tuple[str, Role, str]]) -> RosterImport:
    """Add the new users (each with an API token) and update the changed ones; the caller commits."""
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
    return outcome


def user_for_token(session: Session, token: str, kind: TokenKind, now: datetime | None = None) -> User | None:
    """The user a token of ``kind`` belongs to; None for an unknown or expired token, or one of another kind.

    Bearer tokens and sign-in take ``TokenKind.API`` only, the cookie ``TokenKind.SESSION`` only: a session
    stolen from a browser cannot mint new sessions, outlive its sign-out or be used as a Bearer token.
    """
    found = session.execute(select(Token.expires_at, User).join(User, Token.user_id == User.id)
                            .where(Token.token_sha256 == _digest(token), Token.kind == kind)).first()
    if found is None or (found[0] is not None and found[0] <= (now or utcnow())):
        return None
    return found[1]


def drop_token(session: Session, token: str, kind: TokenKind = TokenKind.SESSION) -> None:
    row = session.scalar(select(Token).where(Token.token_sha256 == _digest(token), Token.kind == kind))
    if row is not None:
        session.delete(row)
        session.commit()


def roster(session: Session) -> list[tuple[User, int]]:
    """Every user with how many tokens (API tokens and sign-in sessions) they hold, by role and then email."""
    rows = session.execute(select(User, func.count(Token.id)).outerjoin(Token, Token.user_id == User.id)
                           .group_by(User.id).order_by(User.role, User.email))
    return [(user, tokens) for user, tokens in rows]


def role_counts(session: Session) -> dict[str, int]:
    """How many users have each role, by the role's value (a role nobody has is left out)."""
    rows = session.execute(select(User.role, func.count()).group_by(User.role))
    return {str(role): count for role, count in rows}
