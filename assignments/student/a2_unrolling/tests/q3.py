from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=0, hidden=False)
def test_q3_form(p_q3, forward_sweeps_q3, reverse_sweeps_q3, reverse_bytes_q3):
    values = (p_q3, forward_sweeps_q3, reverse_sweeps_q3, reverse_bytes_q3)
    assert all((isinstance(v, int) and v > 0 for v in values))

