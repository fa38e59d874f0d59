from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=0, hidden=False)
def test_q4_form(k_short_q4, k_opt_q4, prediction_holds_q4):
    assert isinstance(k_short_q4, int) and isinstance(k_opt_q4, int)
    assert isinstance(prediction_holds_q4, bool)

