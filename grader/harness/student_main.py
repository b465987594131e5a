"""The student process: import nothing of the judge, serve its requests over two pipes until told to stop.

Started as ``python -m grader.harness.student_main --submission DIR --in-fd N --out-fd M``
by a spawner (the judge itself, or the sandbox's launcher under another uid). The
student's own output goes wherever the spawner sent fds 1 and 2, never into the pipes.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import os
import signal
import sys
from pathlib import Path

from grader.harness import framing
from grader.harness.inprocess import top_level_modules
from grader.harness.limits import INTERRUPT_SIGNAL
from grader.harness.server import StudentServer


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="student_main", description=__doc__)
    parser.add_argument("--submission", required=True, type=Path, help="folder holding the student's beras/")
    parser.add_argument("--in-fd", required=True, type=int, help="fd to read requests from")
    parser.add_argument("--out-fd", required=True, type=int, help="fd to write replies to")
    return parser.parse_args(argv)


def serve(submission: Path, in_fd: int, out_fd: int) -> int:
    """Answer requests until the judge closes its end; return the exit status."""
    root = submission.resolve()
    sys.path.insert(0, str(root))
    server = StudentServer(importlib.import_module, top_level_modules(root), root)
    # The judge's "give up on this call" (a call past its deadline): the call fails, the process serves on.
    signal.signal(INTERRUPT_SIGNAL, lambda signum, frame: server.interrupt())
    # A development install (pip install -e) of the reference must not stand in for a file the
    # submission lacks: drop editable-install finders, so only the submission's files import.
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    requests = framing.Reader(in_fd)  # a request and the release before it often come in one read
    for number in itertools.count(1):
        try:
            request = requests.recv()
        except framing.Closed:
            return 0  # the judge is done with us
        framing.send_reply(out_fd, number, server.handle_bytes(request))


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    # Keep the pipes away from fds a student might close or reuse by accident.
    os.set_inheritable(args.in_fd, False)
    os.set_inheritable(args.out_fd, False)
    return serve(args.submission, args.in_fd, args.out_fd)


if __name__ == "__main__":
    sys.exit(main())
