from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=0, hidden=False)
def test_q3_form(J_q3):
    import numpy as np
    assert np.shape(J_q3) == (8, 1)

@test_case(points=None, hidden=True)
def test_q3_values(STUDENT_ID, J_q3):
    import numpy as np
    from unrolling import checks, data
    A, b = data.least_squares_instance(checks.student_key(STUDENT_ID), M=40, N=8)
    H = np.asarray(A.T @ A) + 0.5 * np.eye(8)
    x_star = np.linalg.solve(H, np.asarray(A.T @ b))
    reference = -np.linalg.solve(H, x_star)[:, None]
    assert np.allclose(J_q3, reference, rtol=1e-06, atol=1e-09)

