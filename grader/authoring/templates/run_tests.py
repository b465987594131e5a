"""Run this assignment's public tests: ``python run_tests.py`` (``--seed N`` replays a run).

Uses pytest when it is installed (``pip install pytest``), and a small built-in runner
otherwise, so numpy is all you need.
"""

import argparse
import secrets
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=None, help="seed of the random inputs (default: random)")
    parser.add_argument("--no-pytest", action="store_true",
                        help="use the built-in runner even if pytest is installed")
    args, extra = parser.parse_known_args()
    seed = args.seed if args.seed is not None else secrets.randbits(31)
    sys.path.insert(0, str(HERE))
    try:
        import pytest
    except ImportError:
        pytest = None
    if pytest is not None and not args.no_pytest:
        return int(pytest.main([str(HERE / "public_tests"), "--rootdir", str(HERE), "--seed", str(seed),
                                *extra]))
    from grader.harness.minirunner import run

    return run(HERE / "public_tests", HERE, seed)


if __name__ == "__main__":
    sys.exit(main())
