"""The detection corpus: disguised copies are flagged, independent implementations and starters are not."""

from __future__ import annotations

from itertools import combinations

import pytest

from grader.similarity import SimilaritySettings, Submission, compare_submissions
from tests.similarity import corpus

THRESHOLD = SimilaritySettings().threshold
UNSCREENED = SimilaritySettings(screen=0.0)  # the full comparison even where the screen would skip it


def _score(a: dict[str, str], b: dict[str, str],
           settings: SimilaritySettings = SimilaritySettings()) -> tuple[float, float]:
    pairs = compare_submissions(corpus.starter(), [Submission("a", a), Submission("b", b)], settings=settings)
    return (pairs[0].score_ab, pairs[0].score_ba) if pairs else (0.0, 0.0)


@pytest.mark.parametrize("source, disguise, files", corpus.disguises(),
                         ids=[f"{s}-{d}" for s, d, _ in corpus.disguises()])
def test_every_disguised_copy_is_flagged_against_its_source(source, disguise, files):
    ab, ba = _score(corpus.sources()[source], files)
    print(f"copy {source} / {disguise}: {ab:.3f} {ba:.3f}")
    assert max(ab, ba) >= THRESHOLD


@pytest.mark.parametrize("left, right", list(combinations("ABC", 2)))
def test_no_pair_of_independent_implementations_is_flagged(left, right):
    files = corpus.sources()
    assert _score(files[left], files[right]) == (0.0, 0.0)  # the screen skips them
    ab, ba = _score(files[left], files[right], UNSCREENED)
    print(f"independent {left} / {right}: {ab:.3f} {ba:.3f}")
    assert max(ab, ba) < THRESHOLD
    assert max(ab, ba) > 0  # they do share idioms: the threshold, not an empty comparison, keeps them apart


def test_untouched_starters_are_never_flagged():
    starter = corpus.starter()
    subs = [Submission(f"s{i}", dict(starter)) for i in range(3)] + [Submission("A", corpus.sources()["A"])]
    pairs = compare_submissions(starter, subs)
    assert pairs == []


def test_a_copy_of_one_file_shows_in_that_file_only():
    a, b = corpus.sources()["A"], corpus.sources()["B"]
    copied = {**b, "gradient_tape.py": a["gradient_tape.py"]}
    settings = SimilaritySettings(threshold=0.0, screen=0.0)
    pair = compare_submissions(corpus.starter(), [Submission("a", a), Submission("b", copied)],
                               settings=settings)[0]
    tape = next(match for match in pair.files if match.path == "gradient_tape.py")
    assert pair.score > max(_score(a, b, UNSCREENED))
    assert tape.matched_a > 0.9 * max(match.matched_a for match in pair.files)
