from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=0, hidden=False)
def test_q2_form(iterations_needed):
    k = iterations_needed(0.5, 1.0, 0.1)
    assert isinstance(k, int) and k >= 0

@test_case(points=None, hidden=True)
def test_q2_values(iterations_needed):
    cases = [(0.5, 1.0, 0.25, 2), (0.5, 1.0, 0.3, 2), (0.9, 2.0, 3.0, 0), (0.9, 1.0, 1.0, 0)]
    for rho, e0, tol, k in cases:
        assert iterations_needed(rho, e0, tol) == k, (rho, e0, tol)
    import math
    for rho, e0, tol in [(0.99, 5.0, 1e-06), (0.3, 1.0, 1e-12), (0.999, 1.0, 0.5)]:
        k = iterations_needed(rho, e0, tol)
        assert rho ** k * e0 <= tol < rho ** (k - 1) * e0

