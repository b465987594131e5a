import numpy as np

from grader.harness import assert_close


def test_double_of_ones(student):
    assert_close(student.beras.double(np.ones(3)), np.full(3, 2.0))
