from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = 2

@test_case(points=0, hidden=False)
def test_q1_form(h_q1, m_q1):
    assert isinstance(h_q1, float) and isinstance(m_q1, float)
    assert h_q1 > 0 and 0 < m_q1 < 1

