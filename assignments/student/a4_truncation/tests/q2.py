from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=0, hidden=False)
def test_q2_form(best_truncation):
    T, T_prime = best_truncation(200, 3.0, 0.98, 1.0, 10.0, 50.0)
    assert isinstance(T, int) and isinstance(T_prime, int)
    assert 0 <= T <= 200 and T <= T_prime

