from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=0, hidden=False)
def test_q2_form(iterations_needed):
    k = iterations_needed(0.5, 1.0, 0.1)
    assert isinstance(k, int) and k >= 0

