"""BlobStore: submission zips and logs on disk, addressed by their SHA-256, written atomically."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

_CHUNK = 2**20


class BlobStore:
    """A folder of immutable blobs at ``<root>/<sha[:2]>/<sha>``; storing the same bytes twice stores them
    once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256; a crash mid-write never leaves a partial blob under that
        name."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.exists():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return sha

    def put_file(self, source: Path) -> str:
        """Move the file ``source`` into the store and return its SHA-256; ``source`` is gone afterwards.

        The file is hashed and synced where it lies, then renamed into place (copied first when it lies on
        another file system), so even a large upload is never held in memory.
        """
        digest = hashlib.sha256()
        with open(source, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
            os.fsync(handle.fileno())
        sha = digest.hexdigest()
        target = self.path(sha)
        if target.exists():
            Path(source).unlink(missing_ok=True)
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as out, open(source, "rb") as handle:
                    shutil.copyfileobj(handle, out, _CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
            Path(source).unlink(missing_ok=True)
        return sha

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()
