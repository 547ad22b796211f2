"""Molecular dynamics of a small Lennard-Jones cluster, with forces from srcgrad.

Run:  python examples/lennard_jones.py          (python examples/lennard_jones.py --quick for CI)

Only the potential energy is written by hand: a double loop over pairs of atoms summing
4 (r^-12 - r^-6) (reduced units: epsilon = sigma = mass = 1). The forces are its negative
gradient, F = -dE/dx, and srcgrad writes that gradient. Its compiled `.kernel` is a Numba
function, so the integration loop can be the user's own `@numba.njit` code that calls it
every step: velocity Verlet, with no Python in the loop.

Velocity Verlet conserves the total energy (kinetic + potential) up to an error of order dt^2
that oscillates instead of drifting. A wrong force would show up at once as a drift, so the
energy check is a check of the gradient. The run is repeated with half the time step to show
the error falling by about 4x. A PNG shows the energies over time.
"""
import argparse
import math
import os

import numba
import numpy as np

import srcgrad


def energy(x):
    """Lennard-Jones potential energy of atoms at positions x, shape (n, 3); no cutoff."""
    n = x.shape[0]
    e = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            dx = x[i, 0] - x[j, 0]
            dy = x[i, 1] - x[j, 1]
            dz = x[i, 2] - x[j, 2]
            inv_r2 = 1.0 / (dx * dx + dy * dy + dz * dz)
            inv_r6 = inv_r2 * inv_r2 * inv_r2
            e += 4.0 * (inv_r6 * inv_r6 - inv_r6)
    return e


energy_and_gradient = srcgrad.value_and_grad(energy).kernel    # a Numba dispatcher: (E, dE/dx)


@numba.njit(cache=False)
def velocity_verlet(x, v, dt, steps, record_every):
    """Integrate in place; returns the kinetic and potential energy every `record_every` steps."""
    n_rec = steps // record_every + 1
    kinetic = np.empty(n_rec)
    potential = np.empty(n_rec)
    e_pot, g = energy_and_gradient(x)          # srcgrad's kernel, called from our own njit code
    force = -g
    kinetic[0] = 0.5 * np.sum(v * v)
    potential[0] = e_pot
    for step in range(1, steps + 1):
        v += 0.5 * dt * force
        x += dt * v
        e_pot, g = energy_and_gradient(x)
        force = -g
        v += 0.5 * dt * force
        if step % record_every == 0:
            k = step // record_every
            kinetic[k] = 0.5 * np.sum(v * v)
            potential[k] = e_pot
    return kinetic, potential


def initial_state(side, temperature, rng):
    """A cubic block of side^3 atoms at the pair-potential minimum 2^(1/6), random velocities
    at the given temperature with no net momentum."""
    a = 2.0 ** (1.0 / 6.0)
    grid = np.arange(side) * a
    x = np.array([(i, j, k) for i in grid for j in grid for k in grid], dtype=np.float64)
    v = rng.standard_normal(x.shape) * math.sqrt(temperature)
    v -= v.mean(axis=0)
    return x, v


def run(x0, v0, dt, t_end, record_every=10):
    x, v = x0.copy(), v0.copy()
    kinetic, potential = velocity_verlet(x, v, dt, int(round(t_end / dt)), record_every)
    dev = (kinetic + potential - kinetic[0] - potential[0]) / abs(kinetic[0] + potential[0])
    return kinetic, potential, float(np.max(np.abs(dev))), float(np.sqrt(np.mean(dev ** 2)))


def save_plot(times, kinetic, potential, path):
    try:
        import matplotlib
    except ImportError:
        print("no plot: matplotlib is not installed (pip install matplotlib)")
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True)
    ax1.plot(times, kinetic - kinetic[0], label="kinetic")
    ax1.plot(times, potential - potential[0], label="potential")
    ax1.plot(times, kinetic + potential - kinetic[0] - potential[0], label="total", lw=2)
    ax1.set_ylabel("change since t = 0")
    ax1.set_title("Lennard-Jones cluster, velocity Verlet, forces = -srcgrad.grad(energy)")
    ax1.legend()
    total = kinetic + potential
    ax2.plot(times, (total - total[0]) / abs(total[0]), color="C2")
    ax2.set_ylabel("relative change of total")
    ax2.set_xlabel("time (reduced units)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter run (for CI)")
    args = parser.parse_args(argv)
    side, t_end, dt = (3, 5.0, 0.004) if args.quick else (4, 20.0, 0.004)

    x0, v0 = initial_state(side, 0.1, np.random.default_rng(0))
    n = x0.shape[0]
    print(f"{n} atoms, Lennard-Jones, no cutoff; velocity Verlet to t = {t_end:g}")

    # the force on atom 1 against central differences of the energy (plain Python, h = 1e-6)
    e0, g0 = energy_and_gradient(x0)
    fd = np.empty(3)
    for k in range(3):
        xp, xm = x0.copy(), x0.copy()
        xp[1, k] += 1e-6
        xm[1, k] -= 1e-6
        fd[k] = -(energy(xp) - energy(xm)) / 2e-6
    print(f"initial potential energy {e0:.6f}; force on atom 1: srcgrad {np.round(-g0[1], 6) + 0.0}, "
          f"central differences {np.round(fd, 6) + 0.0}")
    print(f"max |F - F_fd| on atom 1 = {np.max(np.abs(-g0[1] - fd)):.1e}; "
          f"net force |sum F| = {np.abs(g0.sum(axis=0)).max():.1e} (Newton's third law)")

    worst, rms = [], []
    for step in (dt, dt / 2):
        kinetic, potential, w, r = run(x0, v0, step, t_end)
        worst.append(w)
        rms.append(r)
        total = kinetic + potential
        print(f"dt = {step:<6g}: total energy {total[0]:.6f} -> {total[-1]:.6f}; relative error "
              f"max {w:.2e}, rms {r:.2e}")
        if step == dt:
            first = (kinetic, potential)
    print(f"halving dt divides the rms energy error by {rms[0] / rms[1]:.1f} (velocity Verlet: ~4)")
    print(f"max relative energy error {worst[0]:.2e} < 1e-3: energy is conserved")

    times = np.arange(first[0].size) * dt * 10
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "lennard_jones.png")
    if save_plot(times, *first, path) is not False:
        print(f"saved {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
