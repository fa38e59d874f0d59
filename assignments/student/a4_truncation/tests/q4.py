from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=0, hidden=False)
def test_q4_form(final_errors_q4, best_fraction_q4, bound_fraction_q4, bound_agrees_q4):
    import numpy as np
    assert np.shape(final_errors_q4) == (5,) and np.all(np.asarray(final_errors_q4) > 0)
    assert best_fraction_q4 in (0.0, 0.2, 0.4, 0.6, 0.8) and bound_fraction_q4 in (0.0, 0.2, 0.4, 0.6, 0.8)
    assert isinstance(bound_agrees_q4, bool)

