"""
The coefficients of the SIMD kernels' erf (scripts/simd-kernels/source.ts, erf4):
erf(x) ~ x * P(x^2) / Q(x^2), P and Q of degree 5, Q(0) = 1, fitted for relative error on
[0, 3.92] (from 3.92 on, erf(x) rounds to 1 in float32). A linearised least-squares fit
(P - f*Q = 0, weighted by 1/(f*Q) of the previous round) with Lawson's reweighting towards the
minimax, in float64 against math.erf; then the float32 evaluation as the kernel does it is checked.

    python3 scripts/simd-kernels/fit-erf.py     (needs numpy)
"""
import math

import numpy as np

X_MAX = 3.92
DEGREE = 5
N = 6000


def fit():
    xs = (1 - np.cos(np.pi * (np.arange(N) + 0.5) / N)) / 2 * X_MAX  # Chebyshev points on [0, X_MAX]
    ts = xs * xs
    f = np.array([math.erf(x) / x for x in xs])
    powers = np.vstack([ts**k for k in range(DEGREE + 1)]).T
    q_values = np.ones(N)
    lawson = np.ones(N) / N
    best = None
    for _ in range(40):
        a = np.hstack([powers, -f[:, None] * powers[:, 1:]])
        w = np.sqrt(lawson) / (f * q_values)
        sol, *_ = np.linalg.lstsq(a * w[:, None], f * w, rcond=None)
        p = sol[: DEGREE + 1]
        q = np.concatenate([[1.0], sol[DEGREE + 1 :]])
        q_values = powers @ q
        err = (powers @ p / q_values - f) / f
        worst = np.max(np.abs(err))
        if best is None or worst < best[0]:
            best = (worst, p, q)
        lawson = lawson * (np.abs(err) + 1e-30)
        lawson /= lawson.sum()
    return best


def float32_erf(xs, p, q):
    f32 = np.float32
    c = np.clip(xs, -X_MAX, X_MAX).astype(f32)
    t = (c * c).astype(f32)
    pv = np.full_like(t, f32(p[-1]))
    for coeff in p[-2::-1]:
        pv = (pv * t + f32(coeff)).astype(f32)
    qv = np.full_like(t, f32(q[-1]))
    for coeff in q[-2::-1]:
        qv = (qv * t + f32(coeff)).astype(f32)
    r = ((c * pv).astype(f32) / qv).astype(f32)
    return np.where(np.abs(xs) >= X_MAX, np.sign(xs), r)


worst, p, q = fit()
xs = np.linspace(-6, 6, 400001).astype(np.float32)
got = float32_erf(xs, p, q).astype(np.float64)
true = np.array([math.erf(float(x)) for x in xs])
print(f"relative error of the fit: {worst:.3g}; float32 evaluation: max |error| {np.max(np.abs(got - true)):.3g}")
print("P (t^0 first):", ", ".join(repr(float(c)) for c in p))
print("Q (t^0 first):", ", ".join(repr(float(c)) for c in q))
