from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=0, hidden=False)
def test_q1_form(rho_q1, gamma_q1, e0_q1, edot0_q1, K_prime_q1, T_prime_q1):
    assert all((isinstance(v, float) for v in (rho_q1, gamma_q1, e0_q1, edot0_q1)))
    assert 0 < rho_q1 < 1 and gamma_q1 > 0 and (e0_q1 > 0) and (edot0_q1 > 0)
    assert isinstance(K_prime_q1, int) and isinstance(T_prime_q1, int)
    assert 0 <= T_prime_q1 <= K_prime_q1

