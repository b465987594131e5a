"""A deadline surge against the running service: N submissions at once, 2 worker processes, nothing lost.

Two modes. ``--burst`` (the API alone at the deadline): for SQLite (embedded: the API grades in-process) and
PostgreSQL (with redis as the broker), N uploads leave at the same instant, each from its own student, while
16 slow uploads from one student send a byte every few seconds and /healthz is sampled throughout; it prints
every honest upload's status and p50/p95/max latency (target: every one 201 within 10 s) and /healthz's
latency (target: under 1 s throughout).

    .venv/bin/python bench/surge.py --burst [--count 100] [--slow 16] [--db sqlite,postgres]

Without ``--burst`` (the whole pipeline): starts the real parts (redis-server, PostgreSQL, the API under
uvicorn, 2 ``beras-grader worker`` processes on the docker sandbox), releases beras-mlp through the API, then
uploads N zips as fast as 8 clients can (a mix of correct, buggy and hostile ones, each from its own student)
and waits for every result. Prints throughput, p50/p95/max latency from upload to stored result, the queue
wait, and the engine's own time per submission. The floor is N x mean engine time / workers; the target is a
makespan within 1.15x of it.

    .venv/bin/python bench/surge.py [--count 200] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader.authoring.release import stage_autograder  # noqa: E402
from grader.authoring.released import load_released  # noqa: E402
from tests.service.burst import run_burst  # noqa: E402
from tests.service.processes import BIN, Postgres, RedisServer, Service, free_port, wait_healthy  # noqa: E402
from worker.grading.samples import build_zip, reference_files  # noqa: E402

TARGET = 1.15
HOSTILE = {
    "reads the judge's files": "import os\nfor root, _, files in os.walk('/work'):\n    print(root, files)\n",
    "opens a socket": ("import socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=1)\n"
                       "except OSError:\n    pass\n"),
    "exits at import": "import os\nos._exit(0)\n",
    "floods stdout": "print('x' * 5_000_000)\n",
}


def zips(released, count: int) -> list[tuple[str, bytes]]:
    """``count`` submissions: 60% correct, 25% with a planted bug, 15% hostile."""
    files = {f"beras/{rel}": text for rel, text in reference_files(released).items()}
    buggy = dict(files)
    buggy["beras/metrics.py"] += "\nCategoricalAccuracy.forward = lambda self, p, l: 0.0\n"
    out = []
    for i in range(count):
        kind = i % 20
        if kind < 12:
            out.append(("correct", build_zip(files)))
        elif kind < 17:
            out.append(("buggy", build_zip(buggy)))
        else:
            name = list(HOSTILE)[i % len(HOSTILE)]
            hostile = dict(files)
            hostile["beras/onehot.py"] += "\n" + HOSTILE[name]
            out.append((f"hostile: {name}", build_zip(hostile)))
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


HONEST_TARGET_S, HEALTH_TARGET_S = 10.0, 1.0


def burst(args) -> int:
    """The burst mode: the same release, roster and zip against SQLite (embedded) and PostgreSQL in turn."""
    from grader.authoring.release import release
    from grader.runtime import Runtime
    from grader.service.releases import publish
    from grader.service.users import import_roster
    from grader.settings import Settings

    folder = Path(tempfile.mkdtemp(prefix="beras-burst-"))
    print("releasing beras-mlp (the gate runs once for both databases) ...", flush=True)
    outcome = release(REPO / "assignments/beras-mlp", folder / "release",
                      reference_package=REPO / "reference/beras", seed=7)
    assert outcome.report.ok, outcome.report.format()
    files = {f"beras/{rel}": text for rel,
             text in reference_files(load_released(outcome.autograder_dir)).items()}
    data = build_zip(files)
    roster = ("email,role\nslow@burst.edu,student\n"
              + "".join(f"s{i}@burst.edu,student\n" for i in range(args.count)))
    failed = 0
    for db in args.db.split(","):
        base = folder / db
        redis = postgres = None
        env = {"PATH": f"{BIN}:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(base),
               "GRADER_DATA_DIR": str(base / "data"), "GRADER_ASSIGNMENTS_DIR": str(REPO / "assignments"),
               "GRADER_REFERENCE": str(REPO / "reference/beras")}
        # PYTHONPATH: e.g. the API of another checkout, to measure it with this venv; GRADER_*: the API's
        # settings.
        env |= {k: v for k, v in os.environ.items() if k == "PYTHONPATH" or k.startswith("GRADER_")}
        if db == "postgres":
            redis, postgres = RedisServer(base / "redis").start(), Postgres(base / "pg").init()
            env |= {"GRADER_DATABASE_URL": postgres.url, "GRADER_BROKER_URL": redis.url}
        elif db != "sqlite":
            raise SystemExit(f"unknown --db {db!r}; expected sqlite or postgres")
        runtime = Runtime(Settings(data_dir=base / "data", database_url=postgres.url if postgres else None))
        runtime.migrate()
        with runtime.sessions() as session:
            publish(session, runtime.blobs, outcome.autograder_dir, outcome.starter_zip)
            tokens = {email: token for email, _, token in import_roster(session, roster).added}
        port = free_port()
        api = f"http://127.0.0.1:{port}"
        server = Service(["serve", "--port", str(port), "--log-level", "warning"], env,
                         base / "api.log").start()
        try:
            wait_healthy(f"{api}/healthz")
            time.sleep(2)
            print("\nburst on "
                  f"{db}{' (embedded: the API grades in-process)' if db == 'sqlite' else ' (redis broker)'}: "
                  f"{args.count} uploads at once + {args.slow} slow ones (a byte every {args.slow_every:g} "
                  f"s) from one student; load before: {_load()}", flush=True)
            report = run_burst(api, "/api/assignments/beras-mlp/submissions",
                               [tokens[f"s{i}@burst.edu"] for i in range(args.count)], data,
                               slow_token=tokens["slow@burst.edu"], slow=args.slow,
                               slow_every_s=args.slow_every, slow_wait_s=args.slow_wait)
            print("\n".join(report.lines(HONEST_TARGET_S, HEALTH_TARGET_S)), flush=True)
            failed += not (report.honest_ok(HONEST_TARGET_S) and report.health_ok(HEALTH_TARGET_S))
        finally:
            server.stop()
            for part in (redis, postgres):
                if part is not None:
                    part.stop()
    return 1 if failed else 0


def _load() -> str:
    return "%.2f %.2f %.2f" % os.getloadavg()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None,
                        help="submissions (default: 200; with --burst 100)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--burst", action="store_true", help="the API alone at the deadline (see above)")
    parser.add_argument("--slow", type=int, default=16, help="slow uploads from one student (--burst)")
    parser.add_argument("--slow-every", type=float, default=3.0, help="seconds between their bytes (--burst)")
    parser.add_argument("--slow-wait", type=float, default=150.0,
                        help="seconds to wait for the slow uploads' answers after the burst (--burst)")
    parser.add_argument("--db", default="sqlite,postgres", help="databases to burst, in turn (--burst)")
    args = parser.parse_args()
    if args.burst:
        args.count = args.count or 100
        return burst(args)
    args.count = args.count or 200
    folder = Path(tempfile.mkdtemp(prefix="beras-surge-"))
    redis, postgres = RedisServer(folder / "redis").start(), Postgres(folder / "pg").init()
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    env = {"PATH": f"{BIN}:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(folder),
           "GRADER_DATABASE_URL": postgres.url, "GRADER_BROKER_URL": redis.url, "GRADER_SANDBOX": "docker",
           "GRADER_DATA_DIR": str(folder / "data"), "GRADER_ASSIGNMENTS_DIR": str(REPO / "assignments"),
           "GRADER_REFERENCE": str(REPO / "reference/beras")}
    services = [Service(["serve", "--port", str(port), "--log-level", "warning"], env,
                        folder / "api.log").start()]
    services += [Service(["worker", "--queues", "cpu,regrade", "--concurrency", "1",
                          "--log-level", "warning"], env, folder / f"worker-{i}.log").start()
                 for i in range(args.workers)]
    try:
        wait_healthy(f"{api}/healthz")
        roster = folder / "roster.csv"
        roster.write_text("email,role\nta@surge.edu,ta\n"
                          + "".join(f"s{i}@surge.edu,student\n" for i in range(args.count)))
        done = subprocess.run([str(BIN / "beras-grader"), "users", "import", str(roster)], env=env,
                              capture_output=True, text=True, check=True)
        tokens = {line.split(",")[0]: line.split(",")[2] for line in done.stdout.splitlines()[1:]}
        staff = {"Authorization": f"Bearer {tokens['ta@surge.edu']}"}
        print("releasing beras-mlp through the API (the gate runs) ...", flush=True)
        released_reply = httpx.post(f"{api}/api/assignments/beras-mlp/release", headers=staff, timeout=600)
        assert released_reply.status_code == 200, released_reply.text
        released = load_released(stage_autograder(REPO / "assignments/beras-mlp", folder / "stage",
                                                  reference_package=REPO / "reference/beras"))
        batch = zips(released, args.count)
        time.sleep(3)

        def upload(i: int) -> int:
            headers = {"Authorization": f"Bearer {tokens[f's{i}@surge.edu']}"}
            reply = httpx.post(f"{api}/api/assignments/beras-mlp/submissions", headers=headers, timeout=120,
                               files={"file": ("s.zip", batch[i][1], "application/zip")})
            assert reply.status_code == 201, reply.text
            return reply.json()["id"]

        print(f"uploading {args.count} submissions ...", flush=True)
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(upload, range(args.count)))
        uploaded = time.monotonic() - started
        views = {}
        while len(views) < len(ids) and time.monotonic() - started < 3600:
            for submission_id in ids:
                if submission_id not in views:
                    view = httpx.get(f"{api}/api/submissions/{submission_id}", headers=staff,
                                     timeout=30).json()
                    if view["status"] not in ("queued", "running"):
                        views[submission_id] = view
            time.sleep(1)
        stamp = lambda v, k: datetime.fromisoformat(v["timeline"][k]).timestamp()  # noqa: E731
        graded = [v for v in views.values() if v["status"] == "graded"]
        first = min(stamp(v, "received") for v in graded)
        makespan = max(stamp(v, "stored") for v in graded) - first
        latency = [stamp(v, "stored") - stamp(v, "received") for v in graded]
        wait = [stamp(v, "started") - stamp(v, "received") for v in graded]
        engine = [v["execution_time"] for v in graded]
        results = [len(httpx.get(f"{api}/api/submissions/{i}/history", headers=staff, timeout=30).json())
                   for i in ids]
        floor = len(ids) * statistics.mean(engine) / args.workers
        ratio = makespan / floor
        print(f"\nsurge: {len(ids)} submissions ({sum(k == 'correct' for k, _ in batch)} correct, "
              f"{sum(k == 'buggy' for k, _ in batch)} buggy, "
              f"{sum(k.startswith('hostile') for k, _ in batch)} hostile), {args.workers} workers, docker "
              f"sandbox; uploads took {uploaded:.1f} s")
        print(f"  graded {len(graded)}, failed to grade "
              f"{sum(v['status'] == 'failed_to_grade' for v in views.values())}, lost "
              f"{len(ids) - len(views)}, graded twice {sum(n > 1 for n in results)}")
        print(f"  makespan {makespan:.1f} s; throughput {len(graded) / makespan * 60:.1f} per minute")
        print(f"  latency upload->result: p50 {pct(latency, .5):.1f} s, p95 {pct(latency, .95):.1f} s, "
              f"max {max(latency):.1f} s")
        print(f"  queue wait: p50 {pct(wait, .5):.1f} s, p95 {pct(wait, .95):.1f} s; engine per submission: "
              f"mean {statistics.mean(engine):.2f} s, p95 {pct(engine, .95):.2f} s")
        print(f"  floor (N x mean engine / workers) {floor:.1f} s; makespan / floor = {ratio:.3f} "
              f"(target <= {TARGET}: {'met' if ratio <= TARGET else 'MISSED'})")
        ok = len(graded) == len(ids) and all(n == 1 for n in results)
        return 0 if ok else 1
    finally:
        for service in services:
            service.stop()
        redis.stop()
        postgres.stop()


if __name__ == "__main__":
    sys.exit(main())
