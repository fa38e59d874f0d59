from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = 2

@test_case(points=0, hidden=False)
def test_q3_one_fixed_step(sobolev_step):
    import numpy as np
    x, y, y_prev = (np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0]))
    state = sobolev_step(x, y, y_prev, lambda z: 2.0 * z, 0.5, 0.25)
    assert len(state) == 3
    assert np.allclose(state[0], [-0.25, -0.25]) and np.allclose(state[1], [-0.25, 0.0])
    assert np.allclose(state[2], [0.0, 1.0])

