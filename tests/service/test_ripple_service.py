"""The service's side of the ripple notes: each published assignment's current starter, read from the blob
store."""

from __future__ import annotations

from grader.db import Assignment, AssignmentVersion
from grader.service.releases import published_starters


def _published(session, blobs, name: str, version: str, data: bytes | None) -> None:
    row = Assignment(name=name, title=name)
    session.add(row)
    session.flush()
    row_version = AssignmentVersion(assignment_id=row.id, version=version, autograder_path="x",
                                    starter_sha256=blobs.put(data) if data is not None else "f" * 64,
                                    queue="cpu", max_score=1.0, gate_report={})
    session.add(row_version)
    session.flush()
    row.current_version_id = row_version.id


def test_published_starters_are_the_current_versions_zips_and_skip_drafts_and_missing_blobs(runtime):
    blobs = runtime.blobs
    with runtime.sessions() as session:
        _published(session, blobs, "beras-cnn", "abc123", b"zip of cnn")
        _published(session, blobs, "gone", "def456", None)  # its blob is not in this store
        session.add(Assignment(name="draft", title="never released"))
        session.commit()
        found = published_starters(session, blobs)
    assert set(found) == {"beras-cnn"}
    assert found["beras-cnn"].zip_bytes == b"zip of cnn"
    assert found["beras-cnn"].label == "version abc123"
