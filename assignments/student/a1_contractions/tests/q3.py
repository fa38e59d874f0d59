from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=0, hidden=False)
def test_q3_form(J_q3):
    import numpy as np
    assert np.shape(J_q3) == (8, 1)

