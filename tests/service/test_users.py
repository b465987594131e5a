"""Users and rosters: only plain addresses, and a roster's odd rows refused by line with nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from grader.db import User
from grader.service.errors import ServiceError
from grader.service.users import add_user, check_email, import_roster


@pytest.mark.parametrize("email",
                         ["ana@uni.edu", "Ana.Lee+cs@Uni.EDU", "a_b%c-d@mail.cs.uni.edu", "x1@a-b.co"])
def test_plain_addresses_are_accepted_lowercased(email):
    assert check_email(f"  {email} ") == email.lower()


@pytest.mark.parametrize("email", ['=a1&"@x.co', "=HYPERLINK(1)@x.co", "+1@x.co", "-cmd@x.co", "@x.co", "a@x",
                                   "a@x..co", "a..b@x.co", "a@-x.co", "a b@x.co", "a@x.co,b@x.co", "é@x.co",
                                   "a@x.c_o", "a<script>@x.co", "a" * 65 + "@x.co", "a@" + "b" * 250 + ".co"])
def test_anything_but_a_plain_address_is_refused_saying_what_is_expected(email):
    with pytest.raises(ServiceError) as refused:
        check_email(email)
    assert refused.value.status == 400
    assert "is not an email address" in refused.value.message and "name@domain" in refused.value.message
    assert len(refused.value.message) < 300  # a long value is quoted cut short


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(User))


@pytest.mark.parametrize("roster, problem", [
    ("email,role,name\na@c.edu,student,A\nb@c.edu,student,B,extra\n",
     "line 3: 4 cells, but the header has 3 columns (email, role, name)"),
    ("email,role\na@c.edu,student\nb@c.edu,ta,B\n", "line 3: 3 cells, but the header has 2 columns"),
    ("email,role,name\na@c.edu,student,A\nb@c.edu,ta," + "x" * (128 * 1024 + 1) + "\n",
     ("line 3: cannot be read as CSV (field larger than field limit (131072)); expected cells of plain text "
      "under 128 KiB")),
    ("email,role,name\na@c.edu,student," + "n" * 201 + "\n", "line 2: the name 'nnnn"),
    ("email,role,name\n=cmd()@c.edu,student,A\n", "line 2: '=cmd()@c.edu' is not an email address"),
    ("email," + "r" * (128 * 1024 + 1) + "\n", "its header (line 1) is not CSV"),
])
def test_a_roster_with_an_odd_row_is_refused_by_line_and_nothing_is_written(runtime, roster, problem):
    with runtime.sessions() as session:
        with pytest.raises(ServiceError) as refused:
            import_roster(session, roster)
        assert refused.value.status == 400 and problem in refused.value.message
        assert len(refused.value.message) < 1000  # a huge cell is never echoed back whole
        assert _count(session) == 0


def test_a_long_name_is_refused_when_a_user_is_added(runtime):
    with runtime.sessions() as session:
        with pytest.raises(ServiceError, match="expected at most 200"):
            add_user(session, "ana@uni.edu", "student", "n" * 201)
        assert _count(session) == 0
