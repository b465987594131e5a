from grader.harness import assert_close


def test_double_random(student, reference, rng):
    x = rng.normal(size=(3, 4))
    assert_close(student.beras.double(x), reference.beras.double(x))

def test_scale_sum_random(student, reference, rng):
    x = rng.normal(size=5)
    assert_close(student.beras.scale_sum(x, 3.0), reference.beras.scale_sum(x, 3.0))
