"""Page speed on a realistic course: 300 students x 5 assignments x 10 submissions, gradebook and report
pages.

Seeds the course into a fresh database (SQLite by default; ``--database-url`` for PostgreSQL), then requests
each page through the whole stack (the FastAPI app, auth, the queries, Jinja, matplotlib SVG) as an
instructor, several times, and prints the median and worst time against the 1-second budget. The peer, timed
in the same run, is the JSON gradebook API for one assignment: the cost of the data alone, without rendering.

    .venv/bin/python bench/pages.py [--students 300] [--assignments 5] [--submissions 10] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BUDGET_S = 1.0


def _time(client, path: str, headers: dict, repeat: int) -> tuple[float, float, int]:
    client.get(path, headers=headers)  # warm: templates compiled, matplotlib loaded
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return statistics.median(times), max(times), len(response.content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--assignments", type=int, default=5)
    parser.add_argument("--submissions", type=int, default=10)
    parser.add_argument("--tests", type=int, default=40, help="tests per assignment in each result")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", default="", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()

    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from bench.course import seed_course
    from grader.app import create_app
    from grader.db import Assignment, Role, User
    from grader.runtime import Runtime
    from grader.service.users import new_token
    from grader.settings import Settings
    from worker.main import open_queue

    with tempfile.TemporaryDirectory(prefix="beras-bench-pages-") as scratch:
        settings = {"data_dir": Path(scratch)}
        if args.database_url:
            settings["database_url"] = args.database_url
        runtime = Runtime(Settings(**settings))
        runtime.migrate()
        started = time.perf_counter()
        with runtime.sessions() as session:
            seed_course(session, students=args.students, assignments=args.assignments,
                        submissions=args.submissions, tests_per_assignment=args.tests)
            instructor = User(email="bench-instructor@course.edu", role=Role.INSTRUCTOR, name="Bench")
            session.add(instructor)
            session.flush()
            cookie = new_token(session, instructor, kind="session")
            names = session.scalars(select(Assignment.name).order_by(Assignment.name)).all()
            session.commit()
        seeded = time.perf_counter() - started
        total = args.students * args.assignments * args.submissions
        print(f"course: {args.students} students x {len(names)} assignments x {args.submissions} submissions "
              f"= {total} submissions and results ({args.tests} tests each), seeded in {seeded:.1f} s; "
              f"database {runtime.settings.database.split(':')[0]}")
        headers = {"Cookie": f"beras_session={cookie}"}
        with TestClient(create_app(runtime, background=False, open_queue=open_queue)) as client:
            peer, _, _ = _time(client, f"/api/assignments/{names[0]}/grades", headers, args.repeat)
            pages = [("gradebook (all assignments)", "/instructor/gradebook"),
                     ("gradebook sorted by a column, searched",
                      f"/instructor/gradebook?sort={names[-1]}&order=desc&q=1"),
                     *[(f"report {name}", f"/instructor/assignments/{name}/report") for name in names[:2]],
                     (f"print report {names[0]}", f"/instructor/assignments/{names[0]}/report?print=1"),
                     ("Canvas CSV (all assignments)", "/instructor/exports/canvas.csv")]
            print(f"peer: JSON gradebook API for one assignment, median {peer * 1000:.0f} ms\n")
            print(f"{'page':<42} {'median':>9} {'worst':>9} {'size':>9} {'vs peer':>8} {'vs 1 s':>7}")
            worst_ratio = 0.0
            for label, path in pages:
                median, worst, size = _time(client, path, headers, args.repeat)
                worst_ratio = max(worst_ratio, worst / BUDGET_S)
                print(f"{label:<42} {median * 1000:>7.0f}ms {worst * 1000:>7.0f}ms {size / 1024:>7.0f}KB "
                      f"{median / peer:>7.1f}x {median / BUDGET_S:>6.2f}")
        verdict = "within" if worst_ratio <= 1 else "OVER"
        print(f"\nevery page's worst time is {verdict} the {BUDGET_S:.0f}-second budget "
              f"(worst at {worst_ratio:.2f} of it)")
        return 0 if worst_ratio <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
