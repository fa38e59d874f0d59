from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=0, hidden=False)
def test_q1_form(B_q1, y_q1, hypergradient_q1):
    import numpy as np
    assert np.shape(B_q1) == (10, 10) and np.allclose(B_q1, np.transpose(B_q1))
    assert np.shape(y_q1) == (10,) and np.all(np.isfinite(y_q1))
    assert isinstance(hypergradient_q1, float)

