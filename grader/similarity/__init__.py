"""Code similarity across submissions: winnowing fingerprints (copydetect) with the starter excluded."""

from grader.similarity.compare import compare_submissions
from grader.similarity.model import FileMatch, PairResult, SimilaritySettings, Submission

__all__ = ["FileMatch", "PairResult", "SimilaritySettings", "Submission", "compare_submissions"]
