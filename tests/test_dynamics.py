"""The kicked pendulum of chapter 2 and the rollout helper."""

import numpy as np
import pytest

from ptb_utils import dynamics


def test_step_matches_the_equations_by_hand() -> None:
    state = np.array([0.5, -0.2])
    dt, damping, freq = 0.1, 0.3, 2.0
    velocity = -0.2 + dt * (-(freq**2) * np.sin(0.5) - damping * -0.2)
    expected = [0.5 + dt * velocity, velocity]
    np.testing.assert_allclose(dynamics.pendulum_step(state, dt, damping, freq), expected)


def test_step_works_on_batches_and_rejects_bad_shapes() -> None:
    batch = np.array([[0.1, 0.0], [0.2, 0.3], [-1.0, 2.0]])
    out = dynamics.pendulum_step(batch)
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out[1], dynamics.pendulum_step(batch[1]))
    with pytest.raises(ValueError, match="angle, velocity"):
        dynamics.pendulum_step(np.zeros(3))
    with pytest.raises(ValueError, match="dt"):
        dynamics.pendulum_step(np.zeros(2), dt=0.0)


def test_rest_is_a_fixed_point() -> None:
    np.testing.assert_array_equal(dynamics.pendulum_step(np.zeros(2)), np.zeros(2))


def test_simulation_is_reproducible_and_stationary() -> None:
    a = dynamics.simulate_pendulum(4000, seed=3)
    b = dynamics.simulate_pendulum(4000, seed=3)
    assert a.shape == (4000, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, dynamics.simulate_pendulum(4000, seed=4))
    first, second = a[:2000, 0], a[2000:, 0]
    # the two halves have about the same spread and a mean near zero
    assert 0.6 < first.std() / second.std() < 1.6
    assert abs(first.mean()) < first.std() and abs(second.mean()) < second.std()


def test_simulation_without_kicks_stays_at_rest_and_follows_the_rule() -> None:
    assert np.all(dynamics.simulate_pendulum(50, kick=0.0) == 0.0)
    states = dynamics.simulate_pendulum(10, kick=0.1, seed=1)
    # apart from the kick on the velocity, every step is the rule
    predicted = dynamics.pendulum_step(states[:-1])
    np.testing.assert_allclose(predicted[:, 0] - states[:-1, 0], 0.1 * predicted[:, 1], rtol=1e-12)


def test_simulation_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_steps"):
        dynamics.simulate_pendulum(0)
    with pytest.raises(ValueError, match="damping"):
        dynamics.simulate_pendulum(10, damping=-0.1)
    with pytest.raises(ValueError, match="one per step"):
        dynamics.simulate_pendulum(10, frequency=[1.0, 2.0])
    with pytest.raises(ValueError, match="burn_in"):
        dynamics.simulate_pendulum(10, burn_in=-1)


def test_a_frequency_per_step_changes_the_rule_where_it_changes() -> None:
    constant = dynamics.simulate_pendulum(300, seed=2)
    np.testing.assert_array_equal(
        constant, dynamics.simulate_pendulum(300, frequency=[1.0] * 300, seed=2)
    )
    schedule = np.where(np.arange(300) < 150, 1.0, 2.0)
    switched = dynamics.simulate_pendulum(300, frequency=schedule, seed=2, kick=0.0, burn_in=0)
    np.testing.assert_array_equal(switched, 0.0)  # at rest without kicks, whatever the rule
    switched = dynamics.simulate_pendulum(300, frequency=schedule, seed=2)
    np.testing.assert_array_equal(switched[:150], constant[:150])
    assert not np.allclose(switched[150:], constant[150:])
    # after the switch, every step is the rule with the new frequency (plus the kick)
    predicted = dynamics.pendulum_step(switched[150:-1], frequency=2.0)
    np.testing.assert_allclose(predicted[:, 0], switched[151:, 0], rtol=1e-12)


def test_without_friction_the_same_rule_gives_a_growing_swing() -> None:
    states = dynamics.simulate_pendulum(8000, damping=0.0, seed=0)
    energy = 0.5 * states[:, 1] ** 2 + (1 - np.cos(states[:, 0]))
    # the kicks add energy on average and nothing drains it
    assert energy[-2000:].mean() > 3 * energy[:2000].mean()


def test_rollout_applies_the_rule_repeatedly() -> None:
    start = np.array([1.0, 0.0])
    path = dynamics.rollout(dynamics.pendulum_step, start, 3)
    assert path.shape == (4, 2)
    np.testing.assert_array_equal(path[0], start)
    expected = dynamics.pendulum_step(dynamics.pendulum_step(dynamics.pendulum_step(start)))
    np.testing.assert_allclose(path[3], expected)
    batch = dynamics.rollout(lambda s: 2 * s, np.ones((5, 2)), 4)
    assert batch.shape == (5, 5, 2)
    np.testing.assert_array_equal(batch[:, -1], np.full((5, 2), 16.0))


def test_rollout_rejects_a_step_that_changes_shape() -> None:
    with pytest.raises(ValueError, match="same shape"):
        dynamics.rollout(lambda s: s[:, :1], np.ones(2), 2)
