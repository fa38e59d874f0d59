from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=0, hidden=False)
def test_q2_form(peak_t_q2, peak_height_q2):
    assert isinstance(peak_t_q2, int) and 0 <= peak_t_q2 <= 400
    assert isinstance(peak_height_q2, float) and peak_height_q2 >= 1

