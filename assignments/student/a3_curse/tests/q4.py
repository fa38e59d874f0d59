from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=0, hidden=False)
def test_q4_form(height_long_q4, burn_in_long_q4, burn_in_short_q4, curse_shows_q4):
    assert isinstance(height_long_q4, float) and height_long_q4 >= 1 - 1e-09
    assert all((isinstance(v, bool) for v in (burn_in_long_q4, burn_in_short_q4, curse_shows_q4)))

