from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=0, hidden=False)
def test_q3_form(gd_jacobian_errors):
    import numpy as np
    e = np.asarray(gd_jacobian_errors(np.array([0.1, 1.0]), np.ones(2), np.zeros(2), 1.0, 5))
    assert e.shape == (6,) and np.all(np.isfinite(e)) and np.all(e >= 0)

