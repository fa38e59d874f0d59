from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=0, hidden=False)
def test_q1_form(B_q1, X_dot_q1):
    import numpy as np
    assert np.shape(B_q1) == (10, 10) and np.shape(X_dot_q1) == (10, 1)
    assert np.all(np.isfinite(B_q1)) and np.all(np.isfinite(X_dot_q1))

