"""A synthetic course for report benchmarks and tests: students, released assignments, submissions, results.

``seed_course`` bulk-inserts realistic rows straight into the database (no grading): each student has an
ability and improves over their submissions, each test a difficulty and a few typical failure messages, and
submissions are spread over the days around each due date, some late, some under an extension, a few still
queued or failed to grade, a few regraded (an older result kept as history).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from grader.db import Assignment, AssignmentVersion, Extension, Result, Role, Status, Submission, User
from grader.service.gradebook import Schedule
from grader.service.submissions import lateness

FIRST = ("Ada", "Ben", "Chloe", "Dev", "Elif", "Farah", "Goran", "Hana", "Ivan", "Jun", "Kemal", "Lina",
         "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera", "Wen", "Yusuf",
         "Zoe")
LAST = ("Abara", "Becker", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
        "Kowalski", "Lee", "Moreau", "Nakamura", "Okafor", "Patel", "Rossi", "Silva", "Tanaka", "Van Dijk",
        "Wang", "Yilmaz")
TOPICS = (("beras-basics", "Tensors and gradients"), ("beras-mlp", "A multilayer perceptron"),
          ("beras-cnn", "Convolutions"), ("beras-optim", "Optimizers"), ("beras-rnn", "Recurrent layers"))
GROUPS = (("Dense layer", "test_dense.py"), ("Activations", "test_activations.py"),
          ("Losses", "test_losses.py"), ("Gradient tape", "test_tape.py"),
          ("Optimizers", "test_optimizers.py"), ("Training", "test_training.py"))
MESSAGES = ("AssertionError: the output differs from the reference (max abs error {e:.2g})",
            "StudentError: NotImplementedError: {f} is not implemented yet",
            "StudentError: ValueError: operands could not be broadcast together with shapes (32,10) (10,32)",
            "AssertionError: the gradient differs from the reference\nassert False\n +  where False = "
            "allclose(...)",
            "StudentError: TypeError: unsupported operand type(s) for *: 'NoneType' and 'float'")
START = datetime(2025, 1, 20, 17, 0, tzinfo=UTC)
LATE_PENALTY, LAST_LATE_DAY = 0.1, 3


@dataclass(frozen=True)
class SeededCourse:
    """What ``seed_course`` inserted.

    Attributes:
        assignments: the assignment names, in release order.
        students: how many students.
        submissions: how many submissions.
        results: how many results (current and superseded by a regrade).
    """

    assignments: tuple[str, ...]
    students: int
    submissions: int
    results: int


def seed_course(session: Session, students: int = 300, assignments: int = 5, submissions: int = 10,
                tests_per_assignment: int = 40, seed: int = 0, *, absent: float = 0.02) -> SeededCourse:
    """Insert a synthetic course with bulk inserts and commit it.

    Args:
        session: an open session on a migrated database; rows already there are kept and ids continue after
            them, but the assignment names (``beras-basics``, ``beras-mlp``, ...) must not be taken yet.
        students: students on the roster (two TAs and an instructor are added too).
        assignments: released assignments, a week apart.
        submissions: submissions per student and assignment.
        tests_per_assignment: tests in each result, in up to six points groups.
        seed: the random seed; the same seed inserts the same rows into an empty database.
        absent: the chance that a student submits nothing to an assignment.

    Returns:
        The names and the counts inserted.
    """
    rng = random.Random(seed)
    ids = {model: (session.scalar(select(func.max(model.id))) or 0) for model in (User, Submission, Result)}
    users = _users(session, rng, students, ids[User])
    titled = [TOPICS[k] if k < len(TOPICS) else (f"beras-extra-{k + 1}", f"Extra assignment {k + 1}")
              for k in range(assignments)]
    tests = [_tests(rng, tests_per_assignment) for _ in titled]
    versions = _release(session, titled, tests)
    submission_rows, result_rows, extension_rows = [], [], []
    next_submission, next_result = ids[Submission] + 1, ids[Result] + 1
    ability = {user: rng.betavariate(5, 2) for user in users}
    for (assignment_id, version_id, due), catalogue in zip(versions, tests):
        schedule = Schedule(version_id, assignment_id, due, LATE_PENALTY, LAST_LATE_DAY, 100.0)
        for user in users:
            if rng.random() < absent:
                continue
            extension = rng.choice((1, 2, 3)) if rng.random() < 0.05 else 0
            if extension:
                extension_rows.append({"user_id": user, "assignment_id": assignment_id, "days": extension})
            times = _times(rng, due, submissions)
            for j, created in enumerate(times):
                status = _status(rng, last=j == submissions - 1)
                late = lateness(schedule, extension, created).days  # as intake records it
                row = {"id": next_submission, "user_id": user, "assignment_id": assignment_id,
                       "version_id": version_id,
                       "blob_sha256": hashlib.sha256(f"{seed}:{next_submission}".encode()).hexdigest(),
                       "size": rng.randrange(4_000, 40_000), "filename": "submission.zip",
                       "created_at": created, "late_days": late, "status": status, "queue": "cpu",
                       "attempts": 1, "queued_at": created, "enqueued_at": created}
                submission_rows.append(row)
                if status == Status.GRADED:
                    skill = min(0.98, ability[user] * (0.55 + 0.45 * (j + 1) / submissions) + 0.15)
                    for attempt in range(1, 3 if rng.random() < 0.01 else 2):
                        result_rows.append(_result(rng, next_result, row, catalogue, skill, attempt))
                        row["current_result_id"] = next_result
                        next_result += 1
                next_submission += 1
    current = [{"id": row["id"], "current_result_id": row.pop("current_result_id")}
               for row in submission_rows if "current_result_id" in row]
    # Submissions and results point at each other: rows first, then the pointers.
    session.execute(insert(Submission), submission_rows)
    session.execute(insert(Result), result_rows)
    session.execute(update(Submission), current)
    if extension_rows:
        session.execute(insert(Extension), extension_rows)
    session.commit()
    return SeededCourse(tuple(name for name, _ in titled), students, len(submission_rows), len(result_rows))


def _users(session: Session, rng: random.Random, students: int, last_id: int) -> list[int]:
    """Insert the students (a few without a name) and three staff; the students' ids."""
    rows = []
    for i in range(students):
        name = "" if rng.random() < 0.03 else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        rows.append({"id": last_id + 1 + i, "email": f"student{last_id + 1 + i:05d}@example.edu",
                     "name": name, "role": Role.STUDENT, "created_at": START - timedelta(days=30)})
    for j, role in enumerate((Role.TA, Role.TA, Role.INSTRUCTOR)):
        uid = last_id + 1 + students + j
        rows.append({"id": uid, "email": f"staff{uid:05d}@example.edu", "name": f"Staff {uid}", "role": role,
                     "created_at": START - timedelta(days=30)})
    session.execute(insert(User), rows)
    return [row["id"] for row in rows[:students]]


def _tests(rng: random.Random, count: int) -> list[dict]:
    """The catalogue of one assignment's tests: name, group, points, difficulty and its failure messages."""
    groups = GROUPS[:max(1, min(len(GROUPS), count // 6))]
    points = round(100.0 / count, 4) if count else 0.0
    catalogue = []
    for i in range(count):
        group, module = groups[i % len(groups)]
        function = rng.choice(("forward", "backward", "shapes", "dtype", "batch", "numerics"))
        message = [m.format(e=rng.uniform(0.01, 2), f=f"{group.split()[0]}.{function}")
                   for m in rng.sample(MESSAGES, 3)]
        catalogue.append({"name": f"hidden_tests/{module}::test_{function}[{i}]", "group": group,
                          "points": points, "difficulty": rng.uniform(0.0, 0.45), "messages": message,
                          "visibility": "visible" if i % 4 == 0 else "after_due_date"})
    return catalogue


def _release(session: Session, titled: list[tuple[str, str]], tests: list[list[dict]]
             ) -> list[tuple[int, int, datetime]]:
    """Add each assignment with one released version; ``(assignment id, version id, due)`` each."""
    out = []
    for k, ((name, title), catalogue) in enumerate(zip(titled, tests)):
        due = START + timedelta(days=7 * (k + 1))
        assignment = Assignment(name=name, title=title)
        session.add(assignment)
        session.flush()
        version = AssignmentVersion(assignment_id=assignment.id, version=f"v{k + 1}", starter_sha256="0" * 64,
                                    autograder_path=f"/srv/autograders/{name}-autograder", due_at=due,
                                    late_penalty_per_day=LATE_PENALTY, last_late_day=LAST_LATE_DAY,
                                    max_score=round(sum(t["points"] for t in catalogue), 6),
                                    released_at=due - timedelta(days=14))
        session.add(version)
        session.flush()
        assignment.current_version_id = version.id
        session.flush()
        out.append((assignment.id, version.id, due))
    return out


def _times(rng: random.Random, due: datetime, count: int) -> list[datetime]:
    """Submission times around a due date: most in the last days before it, some students keep going after."""
    # Days past the due date this student still works: most stop on time, a few go on into the late days.
    overrun = rng.choice((0.0,) * 8 + (1.0, 2.5))
    times = [due + timedelta(days=rng.triangular(-6.0, overrun, overrun - 0.3)) for _ in range(count)]
    return sorted(t.replace(microsecond=0) for t in times)


def _status(rng: random.Random, last: bool) -> Status:
    """Mostly graded; a few failed to grade or superseded; a student's last one may still be queued or
    running."""
    roll = rng.random()
    if last and roll < 0.01:
        return Status.QUEUED
    if last and roll < 0.015:
        return Status.RUNNING
    if not last and roll < 0.01:
        return Status.SUPERSEDED
    if roll > 0.98:
        return Status.FAILED
    return Status.GRADED


def _result(rng: random.Random, result_id: int, submission: dict, catalogue: list[dict], skill: float,
            attempt: int) -> dict:
    """One result row: each test passes with the student's skill less its difficulty; 2% of runs time out."""
    received = submission["created_at"] + timedelta(seconds=1)
    started = received + timedelta(seconds=rng.uniform(1, 90))
    finished = started + timedelta(seconds=rng.uniform(25, 140))
    timed_out = rng.random() < 0.02
    tests, score = [], 0.0
    for number, test in enumerate(catalogue, start=1):
        passed = not timed_out and rng.random() < skill - test["difficulty"] + 0.25
        if passed:
            outcome, output = "passed", ""
        elif timed_out:
            outcome = "timeout"
            output = "not run: the grading run reached its wall-clock limit of 300 s before this test"
        else:
            # the test's usual mistake most often, its rarer ones less (random.choices is slow)
            roll = rng.random()
            outcome, output = "failed", test["messages"][0 if roll < 0.6 else 1 if roll < 0.9 else 2]
        earned = test["points"] if passed else 0.0
        score += earned
        tests.append({"name": test["name"], "number": str(number), "score": earned,
                      "max_score": test["points"], "status": "passed" if passed else "failed",
                      "outcome": outcome, "output": output, "visibility": test["visibility"],
                      "tags": [test["group"]], "duration_s": round(rng.uniform(0.01, 2.0), 3)})
    max_score = round(sum(t["points"] for t in catalogue), 6)
    data = {"status": "graded", "score": round(score, 6), "max_score": max_score,
            "output": f"Score: {score:g} / {max_score:g}.",
            "execution_time": round((finished - started).total_seconds(), 3), "seed": rng.randrange(2**31),
            "complete": not timed_out, "tests": tests}
    return {"id": result_id, "submission_id": submission["id"], "version_id": submission["version_id"],
            "status": "graded", "score": round(score, 6), "max_score": max_score, "data": data,
            "worker": f"grader-{rng.randrange(4)}:{rng.randrange(1000, 9999)}", "attempt": attempt,
            "received_at": received, "queued_at": received, "started_at": started, "finished_at": finished,
            "stored_at": finished + timedelta(seconds=rng.uniform(0.05, 0.5))}
