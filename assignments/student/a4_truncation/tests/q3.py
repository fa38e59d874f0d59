from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=0, hidden=False)
def test_q3_form(truncated_jacobian, os_error_star_q3, os_error_q3, bound_q3):
    import numpy as np
    assert np.shape(truncated_jacobian(20, 5)) == (10,)
    assert all((isinstance(v, float) and v > 0 for v in (os_error_star_q3, os_error_q3, bound_q3)))

