from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=0, hidden=False)
def test_q1_form(rho_q1, k_star_q1, k_int_q1):
    assert isinstance(rho_q1, float) and 0 < rho_q1 < 1
    assert isinstance(k_star_q1, float) and k_star_q1 > 0
    assert isinstance(k_int_q1, int) and k_int_q1 >= 1

