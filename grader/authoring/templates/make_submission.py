"""Zip the files you wrote into ``submission.zip``: ``python make_submission.py``."""

import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OWNED = __OWNED__


def main() -> int:
    missing = [rel for rel in OWNED if not (HERE / "beras" / rel).is_file()]
    if missing:
        print("missing: " + ", ".join(f"beras/{rel}" for rel in missing), file=sys.stderr)
        return 1
    target = HERE / "submission.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel in OWNED:
            archive.write(HERE / "beras" / rel, f"beras/{rel}")
    print(f"wrote {target} with {len(OWNED)} files: " + ", ".join(f"beras/{rel}" for rel in OWNED))
    return 0


if __name__ == "__main__":
    sys.exit(main())
