from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 2

@test_case(points=0, hidden=False)
def test_q4_form(rate_and_share, rho_q4, share_q4):
    import numpy as np
    steps = np.array([[0.5 ** k, 0.0] for k in range(1, 8)])
    path = np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])
    rate, share = rate_and_share(path, 3)
    assert isinstance(rate, float) and isinstance(share, float)
    assert np.isclose(rate, 0.5) and np.isclose(share, 0.1)
    assert isinstance(rho_q4, float) and isinstance(share_q4, float)
    assert 0 < rho_q4 < 1 and 0 < share_q4 < 1

