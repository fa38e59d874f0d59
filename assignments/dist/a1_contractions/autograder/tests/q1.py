from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=0, hidden=False)
def test_q1_form(L_q1, mu_q1, rho_q1):
    assert all((isinstance(v, float) for v in (L_q1, mu_q1, rho_q1)))
    assert 0 < mu_q1 < L_q1 and 0 < rho_q1 < 1

@test_case(points=None, hidden=True)
def test_q1_values(STUDENT_ID, L_q1, mu_q1, rho_q1):
    import numpy as np
    from unrolling import checks, data
    A, b = data.least_squares_instance(checks.student_key(STUDENT_ID), M=40, N=8)
    H = np.asarray(A.T @ A) + 0.5 * np.eye(8)
    lam = np.linalg.eigvalsh(H)
    assert np.isclose(L_q1, lam[-1], rtol=1e-08)
    assert np.isclose(mu_q1, lam[0], rtol=1e-08)
    assert np.isclose(rho_q1, 1 - lam[0] / lam[-1], rtol=1e-08)

