"""Similarity speed: 300 generated beras-mlp submissions compared in one run, and how time grows with n.

Each generated student takes, per file, one of four implementations (the reference and the corpus' A, B,
C for Dense, the tape and the optimizers; the reference for the other owned files) and then writes it in
their own way: after each line, with probability 1/2, a statement of their own (a fresh name and number),
which is what keeps independent students apart under copydetect's normalization. One student in twenty
hands in a disguised copy of another (renamed, recommented). The target is under 60 s
for 300 students; the peer, timed in the same run at the smallest n, is the same check without the
screen (copydetect's comparison on every pair), which is what the screen saves.

    .venv/bin/python bench/similarity.py [--sizes 50,100,200,300] [--jobs 2] [--seed 0] [--service]

``--service`` also times the service's job (``worker/similarity.py``) on the largest n: the same students
stored as submissions in a SQLite service, read back through intake from the blob store, compared in one
process (a Celery worker's child cannot fork a pool) and the pairs stored; the peer is the engine alone
with ``--jobs 1`` on the same students, timed in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_S = 60.0
COPY_EVERY = 20


def _students(n: int, seed: int) -> list:
    from grader.authoring.stubs import render_complete
    from grader.similarity import Submission
    from tests.similarity import corpus, implementations

    rng = random.Random(seed)
    reference = {rel: render_complete((REPO / "reference" / "beras" / rel).read_text(), rel).text
                 for rel in corpus.starter()}
    variants = {"ref": reference, "A": corpus.fill(implementations.A, implementations.A_EXTRA),
                "B": corpus.fill(implementations.B), "C": corpus.fill(implementations.C)}
    subs: list[Submission] = []
    for index in range(n):
        name = f"student{index:03d}.zip"
        if index % COPY_EVERY == COPY_EVERY - 1:
            source = rng.choice(subs).files
            subs.append(Submission(name, corpus.recomment(corpus.rename(source, corpus.A_NAMES))))
            continue
        files = {rel: variants[rng.choice(list(variants))][rel] if rel in corpus.FILES else reference[rel]
                 for rel in reference}
        subs.append(Submission(name, {rel: _own_way(text, rng) for rel, text in files.items()}))
    return subs


def _service_job(students: list) -> tuple[float, int]:
    """Store ``students`` as submissions of beras-mlp in a fresh SQLite service and time one check."""
    import shutil
    import tempfile

    from sqlalchemy import func, select

    from grader.authoring.release import stage_autograder
    from grader.db import SimilarityPair
    from grader.service.assignments import get_assignment
    from grader.service.releases import publish
    from grader.service.similarity import start_similarity
    from grader.service.submissions import accept
    from grader.service.users import add_user
    from grader.settings import Settings
    from tests.similarity import corpus
    from worker.runtime import WorkerRuntime
    from worker.similarity import run_similarity

    with tempfile.TemporaryDirectory(prefix="beras-similarity-bench-") as scratch:
        folder = Path(scratch)
        autograder = stage_autograder(REPO / "assignments" / "beras-mlp", folder / "release",
                                      reference_package=REPO / "reference" / "beras")
        starter = Path(shutil.make_archive(str(folder / "starter"), "zip", autograder / "starter"))
        runtime = WorkerRuntime(Settings(data_dir=folder / "data", assignments_dir=REPO / "assignments",
                                         reference=REPO / "reference" / "beras"))
        runtime.migrate()
        with runtime.sessions() as session:
            publish(session, runtime.blobs, autograder, starter)
            for index, sub in enumerate(students):
                user = add_user(session, f"s{index:03d}@bench.edu", "student")[0]
                data = corpus.zip_bytes(sub.files)
                accept(session, runtime.blobs, user, "beras-mlp", data, sub.name, 2**24)
            run_id = start_similarity(session, get_assignment(session, "beras-mlp"), None).id
        start = time.perf_counter()
        outcome = run_similarity(run_id, runtime)
        took = time.perf_counter() - start
        assert outcome == "done", outcome
        with runtime.sessions() as session:
            stored = session.scalar(select(func.count()).select_from(SimilarityPair))
    return took, stored


def _own_way(text: str, rng: random.Random) -> str:
    out = []
    for line in text.splitlines():
        out.append(line)
        code = line.strip()
        statement = code and not code.startswith(("#", "@", '"', "'")) and not code.endswith(tuple(":([{,"))
        if statement and rng.random() < 0.5:
            indent = line[:len(line) - len(line.lstrip())]
            out.append(f"{indent}_n{rng.randrange(10**6)} = {rng.randrange(10**6)}")
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,100,200,300")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--service", action="store_true", help="also time the service's job")
    args = parser.parse_args()
    from grader.similarity import SimilaritySettings, compare_submissions
    from tests.similarity import corpus

    sizes = [int(size) for size in args.sizes.split(",")]
    starter = corpus.starter()
    everyone = _students(max(sizes), args.seed)
    print(f"similarity bench: {os.cpu_count()} CPUs, jobs={args.jobs}, "
          f"{sum(len(t) for t in everyone[0].files.values()) // 1000} kB of owned code per student")
    times = {}
    for n in sizes:
        start = time.perf_counter()
        pairs = compare_submissions(starter, everyone[:n], jobs=args.jobs)
        times[n] = time.perf_counter() - start
        flagged = sum(pair.score >= SimilaritySettings().threshold for pair in pairs)
        print(f"n={n:4d}  {n * (n - 1) // 2:6d} pairs  {len(pairs):5d} past the screen  {flagged:3d} flagged"
              f"  {times[n]:6.1f} s  ({times[n] / n * 1000:.0f} ms per student)")
    small = sizes[0]
    start = time.perf_counter()
    compare_submissions(starter, everyone[:small], settings=SimilaritySettings(screen=0.0), jobs=args.jobs)
    peer = time.perf_counter() - start
    print(f"peer at n={small}: without the screen {peer:.1f} s, with it {times[small]:.1f} s "
          f"({peer / times[small]:.1f}x)")
    for a, b in zip(sizes, sizes[1:]):
        print(f"n {a} -> {b} (x{b / a:.1f}): time x{times[b] / times[a]:.2f}")
    largest = max(sizes)
    if args.service:
        start = time.perf_counter()
        compare_submissions(starter, everyone[:largest], jobs=1)
        alone = time.perf_counter() - start
        job, flagged = _service_job(everyone[:largest])
        print(f"service job at n={largest}: {job:.1f} s, {flagged} pairs stored; the engine alone in one "
              f"process {alone:.1f} s (x{job / alone:.2f})")
    verdict = "within" if times[largest] < TARGET_S else "OVER"
    print(f"{largest} students: {times[largest]:.1f} s, {verdict} the {TARGET_S:.0f} s target")
    return 0 if times[largest] < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
