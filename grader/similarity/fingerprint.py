"""Fingerprints of one file's text through copydetect: normalized tokens, winnowed k-gram hashes."""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
from copydetect import CodeFingerprint

from grader.similarity.model import SimilaritySettings


def fingerprint(path: str, text: str, settings: SimilaritySettings,
                boilerplate: np.ndarray | None = None) -> CodeFingerprint | None:
    """The winnowed fingerprints of ``text``, with every boilerplate hash left out.

    copydetect tokenizes with Pygments (the lexer is chosen by ``path``'s extension) and replaces each
    name with ``V``, each function name with ``F``, each class name with ``O``, and each string with
    ``S``; whitespace and comments are dropped. So renamed identifiers, new comments and blank lines do
    not change the fingerprints.

    Args:
        path: the file's path (its extension picks the lexer).
        text: its content.
        settings: ``noise_t`` and the winnowing window.
        boilerplate: hashes to drop (from ``boilerplate_hashes``).

    Returns:
        The fingerprint, or None when nothing of the text is left to match (shorter than one k-gram, or
        all of it boilerplate).
    """
    if boilerplate is not None and not len(boilerplate):
        boilerplate = None
    fp = CodeFingerprint(path, settings.noise_t, settings.window, boilerplate=boilerplate,
                         language=_language(path), fp=io.StringIO(text))
    return fp if fp.hashes else None


def boilerplate_hashes(files: Iterable[tuple[str, str]], settings: SimilaritySettings) -> np.ndarray:
    """Every k-gram hash of the given files (the starter's), as copydetect's ``boilerplate_dirs`` takes them.

    All k-grams, not a winnowed sample (window 1): a student's winnowing may pick any of them.
    """
    hashes: list[int] = []
    for path, text in files:
        hashes.extend(CodeFingerprint(path, settings.noise_t, 1, language=_language(path),
                                      fp=io.StringIO(text)).hashes)
    return np.unique(np.array(hashes, dtype=np.int64))



def _language(path: str) -> str | None:
    # Naming the lexer skips Pygments' search of every lexer's filename patterns (most of the time
    # taken on a small file); other extensions are left to that search.
    return "python" if path.endswith(".py") else None
