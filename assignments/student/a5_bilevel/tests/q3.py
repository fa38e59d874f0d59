from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=0, hidden=False)
def test_q3_form(eps_q3, tau_q3, R_q3):
    assert isinstance(eps_q3, float) and isinstance(tau_q3, float)
    assert eps_q3 > 0 and 0 < tau_q3 < 1
    assert isinstance(R_q3, int) and R_q3 >= 1

