from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = 2

@test_case(points=0, hidden=False)
def test_q5_form(T_q5, err_adaptive_q5, err_unrolled_q5, adaptive_better_q5):
    assert isinstance(T_q5, int) and 0 <= T_q5 <= 300
    assert isinstance(err_adaptive_q5, float) and isinstance(err_unrolled_q5, float)
    assert err_adaptive_q5 > 0 and err_unrolled_q5 > 0
    assert isinstance(adaptive_better_q5, bool)

