"""Per-submission overhead of each sandbox backend, against plain in-process pytest on the same suite.

For each backend: the time from a prepared job to a read result (``grade_zip`` less intake and
job preparation), against the peer measured in the same run: the same suites run by plain
pytest with the student code in-process (``grader.authoring.suite.run_suite``, as the release
gate does). Prints seconds, the overhead (backend - peer) and the ratio, then throughput
(submissions per minute) with 2 jobs in parallel. Targets: docker overhead < 0.5 s, local < 0.25 s.

``--noisy-neighbour`` measures confinement instead: the honest submission graded alone, then
graded while another job of the same backend runs 64 busy processes (from its import on, until
its wall clock of ``--hog-s`` seconds stops it), and the slowdown (beside / alone). Where the
honest job outlasts the hog, the figure is a lower bound and is printed with ``>=``.

    .venv/bin/python bench/sandbox.py [--assignment beras-mlp] [--repeats 5] [--backends local docker]
    .venv/bin/python bench/sandbox.py --noisy-neighbour [--hog-s 120] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader.authoring.release import stage_autograder  # noqa: E402
from grader.authoring.released import load_released  # noqa: E402
from grader.authoring.suite import run_suite  # noqa: E402
from worker.grading.grade import grade_zip, sandbox_limits  # noqa: E402
from worker.grading.samples import build_zip, reference_files, samples  # noqa: E402
from worker.sandbox import SandboxUnavailable, choose_sandbox  # noqa: E402

TARGETS = {"docker": 0.5, "local": 0.25}


def peer_seconds(released, repeats: int, seed: int) -> float:
    """Plain pytest, student code in-process, both suites in one run, on the reference."""
    times = []
    for _ in range(repeats):
        started = time.monotonic()
        suites = [released.assignment.tests.public, released.assignment.tests.hidden]
        run = run_suite(released.assignment_dir, suites, released.root / "reference",
                        reference=released.root / "reference", seed=seed, timeout_s=600)
        assert run.problem is None and run.score == run.max_score, run.problem
        times.append(time.monotonic() - started)
    return statistics.median(times)


def backend_seconds(released, sandbox, zip_bytes: bytes, repeats: int, seed: int) -> float:
    """Prepared job -> result read, per submission (median)."""
    times = []
    for _ in range(repeats):
        started = time.monotonic()
        result = grade_zip(released, zip_bytes, sandbox, seed=seed)
        total = time.monotonic() - started
        assert result["status"] == "graded" and result["score"] == result["max_score"], result["output"]
        times.append(total - result["phases"]["intake_s"] - result["phases"]["prepare_s"])
    return statistics.median(times)


def throughput(released, sandbox, zip_bytes: bytes, count: int, seed: int) -> float:
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: grade_zip(released, zip_bytes, sandbox, seed=seed), range(count)))
    assert all(r["status"] == "graded" for r in results)
    return count / (time.monotonic() - started) * 60


# 64 busy processes from the student package's import on, each in a session of its own (so that the
# kernel's per-session scheduling, autogroup, does not lump them together); the hog job's wall clock ends
# them.
HOG = """
import os as _os
for _ in range(63):
    if _os.fork() == 0:
        break
_os.setsid()
while True:
    pass
"""


def hog_zip(released) -> bytes:
    files = {f"beras/{rel}": text for rel, text in reference_files(released).items()}
    files["beras/metrics.py"] += "\n" + HOG
    return build_zip(files)


def honest_seconds(released, sandbox, zip_bytes: bytes, seed: int) -> float:
    started = time.monotonic()
    result = grade_zip(released, zip_bytes, sandbox, seed=seed)
    assert result["status"] == "graded" and result["score"] == result["max_score"], result["output"]
    return time.monotonic() - started


def noisy_neighbour(released, sandbox, zip_bytes: bytes, hog_s: float, repeats: int, seed: int) -> str:
    """The honest submission alone (median of ``repeats``) and beside a 64-process hog; the slowdown."""
    alone = statistics.median(honest_seconds(released, sandbox, zip_bytes, seed) for _ in range(repeats))
    limits = dataclasses.replace(sandbox_limits(released), wall_s=hog_s)
    hog = threading.Thread(target=grade_zip, args=(released, hog_zip(released), sandbox),
                           kwargs={"limits": limits})
    hog_started = time.monotonic()
    hog.start()
    time.sleep(3.0)  # the hog's sandbox is up and its processes busy
    beside = honest_seconds(released, sandbox, zip_bytes, seed)
    outlasted = time.monotonic() - hog_started >= hog_s
    hog.join()
    return (f"{sandbox.name}: honest job alone {alone:.2f} s, beside a 64-process hog {beside:.2f} s: "
            "slowdown "
            f"{'>=' if outlasted else ''}{beside / alone:.1f}x" + (f" (the hog's {hog_s:g} s ran out first)"
                                                                  if outlasted else ""))


def bare_docker_cost(image: str) -> tuple[float, float] | None:
    """``python3 -c 'import numpy'`` on the host and in a hardened ``docker run`` (context for the target)."""
    def timed(command):
        started = time.monotonic()
        subprocess.run(command, check=True, capture_output=True)
        return time.monotonic() - started
    host = statistics.median(timed([sys.executable, "-c", "import numpy"]) for _ in range(3))
    try:
        box = statistics.median(timed(["docker", "run", "--rm", "--network", "none", "--read-only",
                                       "--cap-drop", "ALL", "--security-opt", "no-new-privileges", image,
                                       "python3", "-c", "import numpy"]) for _ in range(3))
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    return host, box


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="beras-mlp")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--throughput-jobs", type=int, default=8)
    parser.add_argument("--backends", nargs="+", default=["local", "docker"])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--noisy-neighbour", action="store_true",
                        help="the honest job's time alone and beside a 64-process hog, per backend")
    parser.add_argument("--hog-s", type=float, default=120.0,
                        help="how long the hog job runs (its wall clock)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="beras-bench-") as scratch:
        released = load_released(stage_autograder(REPO / "assignments" / args.assignment, Path(scratch),
                                                  reference_package=REPO / "reference" / "beras"))
        zip_bytes = samples(released)[0].zip_bytes  # the reference solution
        if args.noisy_neighbour:
            for name in args.backends:
                try:
                    sandbox = choose_sandbox(name)
                except SandboxUnavailable as why:
                    print(f"{name}: not measured ({why})")
                    continue
                grade_zip(released, zip_bytes, sandbox, seed=args.seed)  # warm caches
                print(noisy_neighbour(released, sandbox, zip_bytes, args.hog_s, args.repeats, args.seed),
                      flush=True)
            return 0
        peer = peer_seconds(released, args.repeats, args.seed)
        print(f"{args.assignment}: {len(released.test_ids)} tests; peer (plain pytest, student in-process): "
              f"{peer:.3f} s per submission (median of {args.repeats})")
        for name in args.backends:
            try:
                sandbox = choose_sandbox(name)
            except SandboxUnavailable as why:
                print(f"{name}: not measured ({why})")
                continue
            grade_zip(released, zip_bytes, sandbox, seed=args.seed)  # warm caches (page cache, image layers)
            seconds = backend_seconds(released, sandbox, zip_bytes, args.repeats, args.seed)
            overhead = seconds - peer
            target = TARGETS.get(name)
            verdict = ("" if target is None
                       else f"  target < {target} s: {'met' if overhead < target else 'MISSED'}")
            per_minute = throughput(released, sandbox, zip_bytes, args.throughput_jobs, args.seed)
            print(f"{name}: {seconds:.3f} s per submission; overhead {overhead:+.3f} s; ratio "
                  f"{seconds / peer:.2f}x the peer{verdict}; throughput with 2 parallel jobs: "
                  f"{per_minute:.1f} submissions/minute")
            if name == "docker":
                bare = bare_docker_cost(sandbox.image)
                if bare:
                    print(f"  context: python3 -c 'import numpy': host {bare[0]:.3f} s, hardened docker run "
                          f"{bare[1]:.3f} s ({bare[1] - bare[0]:+.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
