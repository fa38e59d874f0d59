from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=0, hidden=False)
def test_q4_form(k_short_q4, k_opt_q4, prediction_holds_q4):
    assert isinstance(k_short_q4, int) and isinstance(k_opt_q4, int)
    assert isinstance(prediction_holds_q4, bool)

@test_case(points=None, hidden=True)
def test_q4_values(STUDENT_ID, k_short_q4, k_opt_q4, prediction_holds_q4):
    import numpy as np
    from unrolling import checks, data
    A, b = data.least_squares_instance(checks.student_key(STUDENT_ID), M=40, N=8)
    H = np.asarray(A.T @ A) + 0.5 * np.eye(8)
    lam = np.linalg.eigvalsh(H)
    x_star = np.linalg.solve(H, np.asarray(A.T @ b))

    def first_below(step):
        x, k = (np.zeros(8), 0)
        while np.linalg.norm(x - x_star) > 1e-08 * np.linalg.norm(x_star):
            x, k = (x - step * (H @ x - np.asarray(A.T @ b)), k + 1)
        return k
    ks, ko = (first_below(1 / lam[-1]), first_below(2 / (lam[-1] + lam[0])))
    assert abs(k_short_q4 - ks) <= 1 and abs(k_opt_q4 - ko) <= 1
    kappa = lam[-1] / lam[0]
    predicted = np.log((kappa - 1) / (kappa + 1)) / np.log(1 - 1 / kappa)
    assert prediction_holds_q4 == bool(abs(ks / ko / predicted - 1) <= 0.25)

