"""``beras-grader demo --serve``: a demo course (roster, both assignments released, graded samples) served
locally."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import typer

from grader.demo.main_job import ASSIGNMENTS
from grader.runtime import Runtime

STAFF = (("ida@demo.edu", "instructor", "Ida Instructor"), ("tom@demo.edu", "ta", "Tom Assistant"))
STUDENTS = ("ada", "alan", "grace", "edsger", "barbara", "donald", "frances", "john", "margaret", "ken")
_MARKER = "demo-course.txt"  # written once seeding finished: a second --serve starts at once


@dataclass
class DemoLogins:
    tokens: dict[str, str]  # email -> sign-in token (shown once, kept in the data folder for the demo only)


def seed_demo_course(runtime: Runtime, assignments_dir: Path, reference: Path, seed: int = 0) -> DemoLogins:
    """Fill an empty service with a course: staff, ten students, both assignments released, one graded zip
    each.

    Each student submits a different variant (the reference, the starter, the planted bugs, or the
    reference with one of their files reverted to the starter), so the reports have a spread to show.
    One student submits a day late and one has an extension.
    """
    from grader.authoring.released import released_at
    from grader.db import WAITING, Submission
    from grader.dispatch import queue_for
    from grader.service.extensions import grant_extension
    from grader.service.releases import release_assignment
    from grader.service.submissions import accept, first_open
    from grader.service.users import add_user
    from worker.grading.samples import build_zip, reference_files, samples

    marker = runtime.settings.data_dir / _MARKER
    if marker.is_file():
        tokens = dict(line.split(" ", 1) for line in marker.read_text().split("\n") if " " in line)
        return DemoLogins(tokens)
    tokens, ids, staff_user = {}, [], None
    with runtime.sessions() as session:
        for email, role, name in STAFF:
            member, tokens[email] = add_user(session, email, role, name)
            staff_user = staff_user if role != "instructor" else member
        students = []
        for who in STUDENTS:
            user, token = add_user(session, f"{who}@demo.edu", "student", who.capitalize() + " Student")
            tokens[user.email] = token
            students.append(user)
        for name in ASSIGNMENTS:
            typer.echo(f"releasing {name} (the gate runs both suites against the reference, the starter and "
                       "degenerate submissions; a minute or two) ...")
            published = release_assignment(session, runtime.settings, name, staff_user, seed=seed)
            released = released_at(published.version.autograder_path)
            batch = [s.zip_bytes for s in samples(released)]
            reference_code = reference_files(released)
            for rel in released.assignment.files.owned:  # the reference with one file left as the starter
                files = dict(reference_code, **{rel: (released.starter / rel).read_text()})
                batch.append(build_zip(files))
            due = published.version.due_at
            # An assignment that opens later (beras-cnn opens once beras-mlp, whose solutions it ships, has
            # closed) is submitted to as it opens: its students cannot submit before.
            start = first_open(published.version)
            for number, user in enumerate(students):
                when = start
                if number == 3 and due is not None:
                    when = due + timedelta(hours=20)  # a day late: the gradebook shows its penalty
                submission = accept(session, runtime.blobs, user, name, batch[number % len(batch)],
                                    f"{user.email.split('@')[0]}-{name}.zip",
                                    runtime.settings.max_upload_bytes, now=when)
                ids.append((submission.id, submission.queue))
            grant_extension(session, name, students[4].email, 2, staff_user)
    typer.echo(f"grading {len(ids)} sample submissions in the sandbox ...")
    for submission_id, queue in ids:
        runtime.dispatcher.enqueue(submission_id, queue_for(queue, False))
    waiting = {submission_id for submission_id, _ in ids}
    while waiting:
        time.sleep(0.5)
        with runtime.sessions() as session:
            for submission_id in list(waiting):
                if session.get(Submission, submission_id).status not in WAITING:
                    waiting.discard(submission_id)
    marker.write_text("\n".join(f"{email} {token}" for email, token in tokens.items()) + "\n")
    marker.chmod(0o600)
    return DemoLogins(tokens)


def serve_demo(assignments_dir: Path, reference: Path, data_dir: Path, sandbox_name: str, host: str,
               port: int, seed: int) -> int:
    """Seed the demo course (once), then serve it until interrupted."""
    import uvicorn

    from grader.app import create_app
    from grader.demo.main_job import open_embedded
    from grader.settings import Settings
    from worker.main import open_queue

    runtime = open_embedded(Settings(data_dir=data_dir, sandbox=sandbox_name, assignments_dir=assignments_dir,
                                     reference=reference))
    if runtime is None:
        return 3
    typer.echo(f"demo course in {data_dir}")
    logins = seed_demo_course(runtime, assignments_dir, reference, seed)
    address = f"http://{host}:{port}"
    typer.echo(f"\nBeras Grader demo: open {address}/login and paste a token:")
    for email, token in logins.tokens.items():
        role = next((r for e, r, _ in STAFF if e == email), "student")
        typer.echo(f"  {role:<10} {email:<22} {token}")
    typer.echo("(Ctrl-C stops the server; run it again to reuse the course, or delete the folder to start "
               "over.)\n")
    uvicorn.run(create_app(runtime, open_queue=open_queue), host=host, port=port, log_level="warning")
    return 0
