from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=0, hidden=False)
def test_q2_form(jac0_err_q2, G_q2, bound_q2):
    assert all((isinstance(v, float) and v > 0 for v in (jac0_err_q2, G_q2, bound_q2)))

