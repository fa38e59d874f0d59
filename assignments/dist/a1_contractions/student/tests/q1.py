from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=0, hidden=False)
def test_q1_form(L_q1, mu_q1, rho_q1):
    assert all((isinstance(v, float) for v in (L_q1, mu_q1, rho_q1)))
    assert 0 < mu_q1 < L_q1 and 0 < rho_q1 < 1

