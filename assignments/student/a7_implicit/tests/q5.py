from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = 2

@test_case(points=0, hidden=False)
def test_q5_form(log_ratio_q5, unrolled_wins_q5):
    import numpy as np
    assert isinstance(log_ratio_q5, float) and np.isfinite(log_ratio_q5)
    assert isinstance(unrolled_wins_q5, bool)

