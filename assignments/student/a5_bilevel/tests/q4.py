from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=0, hidden=False)
def test_q4_form(cost_cold_q4, cost_warm_q4, warm_cheaper_q4):
    assert isinstance(cost_cold_q4, int) and isinstance(cost_warm_q4, int)
    assert cost_cold_q4 >= -1 and cost_warm_q4 >= -1
    assert isinstance(warm_cheaper_q4, bool)

