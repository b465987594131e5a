"""compare_submissions: directions, matched lines, archive pairing, bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from grader.similarity import SimilaritySettings, Submission, compare_submissions
from grader.similarity.compare import _lines
from tests.similarity import corpus

ALL = SimilaritySettings(threshold=0.0, screen=0.0)  # every pair compared in full, all lines


def test_character_slices_become_merged_line_ranges():
    text = "a\nb\nc\nd\ne\nf\n"
    # "b\nc" (offsets 2..5) and "c\nd" (4..7) overlap: one range; "f" (10..11) is apart from them
    assert _lines(text, np.array([[2, 4, 10], [5, 7, 11]])) == ((2, 4), (6, 6))
    # ranges on adjacent lines merge too: "d" (line 4) right after "b\nc" (lines 2-3)
    assert _lines(text, np.array([[2, 6], [5, 7]])) == ((2, 4),)
    assert _lines(text, np.array([[0], [1]])) == ((1, 1),)


def test_matched_lines_are_the_copied_code_not_the_starter():
    a = corpus.sources()["A"]
    b = {**corpus.starter(), "layers/dense.py": a["layers/dense.py"]}
    pair = compare_submissions(corpus.starter(), [Submission("a", a), Submission("b", b)], settings=ALL)[0]
    dense = pair.files[0]
    assert [match.path for match in pair.files] == ["layers/dense.py"]
    lines = a["layers/dense.py"].splitlines()
    forward = lines.index("        inputs = backend.asarray(x)") + 1
    matched = {n for first, last in dense.lines_a for n in range(first, last + 1)}
    assert forward in matched and forward + 4 in matched  # the body of Dense.forward, 1-based
    assert not matched & set(range(1, 12))  # the module docstring is the starter's
    assert dense.lines_a == dense.lines_b  # same file text on both sides
    # b holds only A's Dense, all of it in a: b's own code is all found in a, not the other way round
    assert pair.score_ba == pytest.approx(1.0) and pair.score_ab < 0.5


def test_archive_is_compared_with_current_submissions_only():
    src = corpus.sources()
    current = [Submission("now-A", src["A"]), Submission("now-B", src["B"])]
    archive = [Submission("old-C1", src["C"], archived=True), Submission("old-C2", src["C"], archived=True)]
    pairs = compare_submissions(corpus.starter(), current, archive, settings=ALL)
    seen = {(pair.a, pair.b) for pair in pairs}
    assert ("old-C1", "old-C2") not in seen and ("old-C2", "old-C1") not in seen
    assert {("now-A", "old-C1"), ("now-B", "old-C2"), ("now-A", "now-B")} <= seen
    assert all(pair.b_archived == pair.b.startswith("old") for pair in pairs)


def test_pairs_come_highest_first_with_lines_only_above_the_threshold():
    src = corpus.sources()
    subs = [Submission("A", src["A"]), Submission("B", src["B"]),
            Submission("copy", corpus.reorder(src["A"]))]
    pairs = compare_submissions(corpus.starter(), subs)
    assert [(pair.a, pair.b) for pair in pairs][0] == ("A", "copy")
    assert [pair.score for pair in pairs] == sorted((pair.score for pair in pairs), reverse=True)
    assert pairs[0].files and all(not pair.files for pair in pairs if pair.score < 0.5)
    assert pairs[0].summary().keys() == {"a", "b", "score", "score_ab", "score_ba"}
    assert pairs[0].summary()["score"] == round(max(pairs[0].score_ab, pairs[0].score_ba), 4)


def test_two_submissions_with_one_name_are_refused():
    sub = Submission("same.zip", corpus.sources()["A"])
    with pytest.raises(ValueError, match="same.zip"):
        compare_submissions(corpus.starter(), [sub, sub])


def test_settings_are_checked():
    with pytest.raises(ValueError, match="threshold"):
        SimilaritySettings(threshold=1.5)
    with pytest.raises(ValueError, match="noise_t"):
        SimilaritySettings(noise_t=30, guarantee_t=20)


def test_fingerprinting_in_processes_gives_the_same_pairs():
    src = corpus.sources()
    subs = [Submission(k, f) for k, f in src.items()] + [Submission("copy", corpus.reorder(src["C"]))]
    alone = compare_submissions(corpus.starter(), subs, settings=ALL)
    assert compare_submissions(corpus.starter(), subs, settings=ALL, jobs=2) == alone
    assert len(alone) == 6


def test_scores_are_the_same_in_every_process():
    # Python's str hash is salted per process: scores must not depend on it (copydetect's own hashes do)
    script = ("from grader.similarity import Submission, compare_submissions\n"
              "from tests.similarity import corpus\n"
              "src = corpus.sources()\n"
              "pair = compare_submissions(corpus.starter(), [Submission('a', src['A']),\n"
              "                           Submission('b', corpus.reorder(src['A']))])[0]\n"
              "print(pair.score_ab, pair.score_ba, pair.files[0].lines_a)\n")
    outputs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              cwd=corpus.ROOT, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2")}
    assert len(outputs) == 1
