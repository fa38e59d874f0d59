from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=0, hidden=False)
def test_q3_form(rho_q3, k_q3, rel_err_q3):
    assert isinstance(rho_q3, float) and 0 < rho_q3 < 1
    assert isinstance(k_q3, int) and k_q3 >= 1
    assert isinstance(rel_err_q3, float) and 0 <= rel_err_q3 < 1

