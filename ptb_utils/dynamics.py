"""A pendulum with a known evolution rule, for chapter 2.

A damped pendulum kicked by random pushes: its state is the angle and the angular velocity,
and one rule maps the state at step ``t`` to the state at step ``t + 1``. With damping, the
friction pulls the pendulum towards rest while the kicks keep it moving, so after a short
transient its statistics no longer change with time: the series is stationary. Without
damping the same fixed rule gives a series that is not (the kicks pile up energy), and a
frequency that changes at a given step gives a rule that is not the same at every step.
Because the rule is known exactly, a rule learned from data can be compared with the truth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

STATE_NAMES: tuple[str, str] = ("angle", "angular velocity")
STATE_UNITS: tuple[str, str] = ("rad", "rad/s")


def pendulum_step(
    state: np.ndarray, dt: float = 0.1, damping: float = 0.2, frequency: float = 1.0
) -> np.ndarray:
    """One step of the noise-free rule: ``[..., 2]`` states in, ``[..., 2]`` states out.

    ``state[..., 0]`` is the angle (rad) and ``state[..., 1]`` the angular velocity (rad/s).
    The update is a semi-implicit Euler step of
    ``angle'' = -frequency**2 * sin(angle) - damping * angle'`` over ``dt`` seconds:
    first the velocity, then the angle with the new velocity. Works on a single state or on a
    batch of them.
    """
    state = np.asarray(state, dtype=float)
    if state.shape[-1:] != (2,):
        raise ValueError(f"a pendulum state is [angle, velocity]; got shape {state.shape}")
    if dt <= 0:
        raise ValueError(f"dt must be a positive number of seconds, got {dt}")
    angle, velocity = state[..., 0], state[..., 1]
    velocity = velocity + dt * (-(frequency**2) * np.sin(angle) - damping * velocity)
    angle = angle + dt * velocity
    return np.stack([angle, velocity], axis=-1)


def simulate_pendulum(
    n_steps: int,
    dt: float = 0.1,
    damping: float = 0.2,
    frequency: float | Sequence[float] = 1.0,
    kick: float = 0.08,
    seed: int = 0,
    burn_in: int = 200,
) -> np.ndarray:
    """A kicked, damped pendulum: an array of shape ``[n_steps, 2]`` (angle, velocity).

    Each step applies :func:`pendulum_step` and then adds a Gaussian kick of standard
    deviation ``kick`` (rad/s) to the velocity. ``frequency`` is one number (the same rule at
    every step) or one number per step (a rule that changes, e.g. a string shortened at a
    known time; the burn-in uses the first value). The first ``burn_in`` steps, while the
    pendulum forgets its starting point (at rest), are simulated and dropped, so with
    ``damping > 0`` and one frequency the returned series is stationary from its first step.
    With ``damping = 0`` nothing drains the energy the kicks add, and the series is not
    stationary although its rule never changes. The same ``seed`` gives the same kicks, so
    two runs that differ only in a later frequency agree up to the step where it changes.
    """
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    if burn_in < 0:
        raise ValueError(f"burn_in must be >= 0, got {burn_in}")
    if damping < 0:
        raise ValueError(f"damping must be >= 0 (0 is a frictionless pendulum), got {damping}")
    frequencies = np.asarray(frequency, dtype=float)
    if frequencies.shape not in ((), (n_steps,)):
        raise ValueError(
            f"frequency must be one number or one per step ({n_steps}), "
            f"got shape {frequencies.shape}"
        )
    frequencies = np.broadcast_to(frequencies, (n_steps,))
    frequencies = np.concatenate([np.full(burn_in, frequencies[0]), frequencies])
    rng = np.random.default_rng(seed)
    kicks = rng.normal(0.0, kick, size=n_steps + burn_in)
    states = np.empty((n_steps + burn_in, 2))
    state = np.zeros(2)
    for t in range(n_steps + burn_in):
        state = pendulum_step(state, dt, damping, frequencies[t])
        state[1] += kicks[t]
        states[t] = state
    return states[burn_in:]


def rollout(step, start: np.ndarray, n_steps: int) -> np.ndarray:
    """Apply a one-step rule ``n_steps`` times from ``start``, feeding each output back in.

    ``step`` maps a batch of states ``[batch, d]`` to the next states ``[batch, d]``;
    ``start`` has shape ``[batch, d]`` (or ``[d]`` for a single trajectory). Returns the
    trajectories, of shape ``[batch, n_steps + 1, d]`` (or ``[n_steps + 1, d]``), starting
    with ``start`` itself. Used to compare a learned rule with the true one far from the
    data it was fitted on.
    """
    start = np.asarray(start, dtype=float)
    single = start.ndim == 1
    states = [start[None] if single else start]
    for _ in range(n_steps):
        nxt = np.asarray(step(states[-1]), dtype=float)
        if nxt.shape != states[-1].shape:
            raise ValueError(
                f"the step function turned a state of shape {states[-1].shape} into "
                f"{nxt.shape}; it must return states of the same shape"
            )
        states.append(nxt)
    out = np.stack(states, axis=1)
    return out[0] if single else out
