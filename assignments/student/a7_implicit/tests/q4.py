from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=0, hidden=False)
def test_q4_form(t_fp_q4, itd_needs_more_q4):
    assert isinstance(t_fp_q4, int) and (t_fp_q4 == -1 or 1 <= t_fp_q4 <= 300)
    assert isinstance(itd_needs_more_q4, bool)

