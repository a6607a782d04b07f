#!/usr/bin/python3
"""Fits the fast CPU kernels' tanh and sigmoid (engine/cpu/simd_vector.h).

tanh(a) ~ a p(a^2) / q(a^2) on [0, FIT_END], p and q of degree 4 with
q(0) = 1, fitted for the smallest largest absolute error by Loeb's
linearised least squares with Lawson's reweighting. The function grows past
1 beyond the fit (degree 9 over 8): the kernels clamp x to +-the first float
where its float value reaches 1 (and, without fused multiply-adds, where
rounding can step past the ends, the result to [-1, 1]), so it saturates
exactly and is never biased upwards. sigmoid(x) = 1/2 + tanh(x / 2) / 2 gets the
same function with the scaling folded into its coefficients (and its own
clamp, found the same way).

Prints the coefficients as C floats and the largest absolute errors (and the mean error: a bias
would accumulate in an LSTM's cell) of a float32 evaluation (fused multiply-adds, as the kernels do them) over the
real line, and checks the saturation. Needs numpy (Debian's python3-numpy).

    /usr/bin/python3 tools/fit_activations.py
"""

import numpy as np

FIT_END = 9.0  # tanh(9) rounds to 1
P_TERMS, Q_TERMS = 5, 4  # p: 1, u .. u^4; q: 1 + u .. u^4
F32 = np.float32


def fit_tanh(iterations=120):
    x = np.concatenate([np.linspace(0.0, FIT_END, 40000),
                        np.geomspace(1e-4, FIT_END, 5000)])
    y = np.tanh(x)
    u = x * x
    weight = np.ones_like(x)
    q_prev = np.ones_like(x)
    for _ in range(iterations):
        # y q(u) - x p(u) = 0, unknowns p_0..p_3 and q_1..q_4.
        a = np.concatenate([-(x[:, None] * u[:, None]**np.arange(P_TERMS)),
                            y[:, None] * u[:, None]**np.arange(1, Q_TERMS + 1)],
                           axis=1)
        w = weight / q_prev
        sol, *_ = np.linalg.lstsq(a * w[:, None], -y * w, rcond=None)
        p = sol[:P_TERMS]
        q = np.concatenate([[1.0], sol[P_TERMS:]])
        q_prev = np.polyval(q[::-1], u)
        err = x * np.polyval(p[::-1], u) / q_prev - y
        weight = weight * (np.abs(err) / np.abs(err).max())**0.3 + 1e-3
        weight /= weight.max()
    return p, q


def fma(a, b, c):
    # a float32 product is exact in float64: one rounding, as an FMA.
    return F32(np.float64(a) * np.float64(b) + np.float64(c))


def mul_add(a, b, c):
    # SSE2 has no FMA: two roundings.
    return F32(F32(a * b) + c)


def horner(coefficients, u, step=fma):
    r = np.full_like(u, coefficients[-1])
    for c in coefficients[-2::-1]:
        r = step(r, u, c)
    return r


def odd_rational(a, p, q, step=fma):
    u = F32(a * a)
    return F32(F32(a * horner(p, u, step)) / horner(q, u, step))


def first_reaching(level, p, q, start, end):
    """The first float a in [start, end] where odd_rational(a) >= level,
    with and without fused multiply-adds."""
    a = np.arange(np.float32(start).view(np.int32),
                  np.float32(end).view(np.int32)).view(F32)
    reached = ((odd_rational(a, p, q) >= F32(level)) &
               (odd_rational(a, p, q, mul_add) >= F32(level)))
    assert reached.any()
    return a[np.argmax(reached)]


# As the kernels do it: x clamped, the result clamped.
def tanh32(x, p, q, clamp, step=fma):
    a = np.clip(x, -clamp, clamp)
    return np.clip(odd_rational(a, p, q, step), F32(-1), F32(1))


def sigmoid32(x, p, q, clamp, step=fma):
    a = np.clip(x, -clamp, clamp)
    return np.clip(F32(odd_rational(a, p, q, step) + F32(0.5)), F32(0), F32(1))


def main():
    p, q = fit_tanh()
    tanh_p = [F32(v) for v in p]
    tanh_q = [F32(v) for v in q]
    # 1/2 tanh(a / 2) = a p(a^2 / 4) / (4 q(a^2 / 4)).
    sig_p = [F32(p[k] / 4.0**k / 4.0) for k in range(P_TERMS)]
    sig_q = [F32(q[k] / 4.0**k) for k in range(Q_TERMS + 1)]
    tanh_clamp = first_reaching(1.0, tanh_p, tanh_q, 7.0, 12.0)
    sig_clamp = first_reaching(0.5, sig_p, sig_q, 14.0, 24.0)

    x = np.concatenate([
        np.linspace(-20.0, 20.0, 4000001),
        np.geomspace(1e-30, 20.0, 100000),
        -np.geomspace(1e-30, 20.0, 100000),
        np.geomspace(20.0, 1e30, 10000),
        -np.geomspace(20.0, 1e30, 10000)]).astype(F32)
    xd = x.astype(np.float64)
    near = (xd > 0.0) & (xd < 20.0)  # both are odd about their centre
    for step in (fma, mul_add):
        with np.errstate(over="ignore"):
            t = tanh32(x, tanh_p, tanh_q, tanh_clamp, step)
            s = sigmoid32(x, sig_p, sig_q, sig_clamp, step)
            exact_s = 1.0 / (1.0 + np.exp(-xd))
        for name, err in [("tanh", t - np.tanh(xd)), ("sigmoid", s - exact_s)]:
            print("%-7s (%s) max abs error %.3g, mean over 0 < x < 20 %.2g" %
                  (name, step.__name__, np.abs(err).max(), err[near].mean()))
        big = np.abs(xd) >= 10.0
        assert np.all(t[big] == np.sign(xd[big]))
        assert np.all(s[xd >= 17.5] == 1.0) and np.all(s[xd <= -88.0] == 0.0)
    print("clamps: tanh %.9ef, sigmoid %.9ef" % (tanh_clamp, sig_clamp))
    for name, values in [("tanh p", tanh_p), ("tanh q", tanh_q[1:]),
                         ("sigmoid p", sig_p), ("sigmoid q", sig_q[1:])]:
        print("%-9s " % name + ", ".join("%.9ef" % v for v in values))


if __name__ == "__main__":
    main()
