from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=0, hidden=False)
def test_q4_form(never_increases_long_q4, never_increases_short_q4, k_tol_long_q4, k_tol_short_q4, faster_but_not_monotone_q4):
    assert all((isinstance(v, bool) for v in (never_increases_long_q4, never_increases_short_q4, faster_but_not_monotone_q4)))
    assert all((isinstance(k, int) and 0 < k <= 200 for k in (k_tol_long_q4, k_tol_short_q4)))

