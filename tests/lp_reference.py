"""An independent formulation of the cost LPs (M2, M4) with scipy's linprog.

Written from the equations in ansen/models/cost.py, without Pyomo, to check the
package's optimum on small cases.
"""

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import lil_matrix


def community_cost_optimum(net0, import_price, export_price, capacity, power, eff, soc0, dt,
                           eps=1e-4, shadow=0.0, transformer0=None, theta=None, site_tr=None):
    """Optimal objective of M2 (shadow=0) or M4 for one horizon.

    net0 (N, B), prices (N,), battery arrays (B,), transformer0 (N, K), theta (K,).
    Variable order: ch (B*N), dis (B*N), soc (B*N), imp (N), exp (N), u (K*N).
    """
    n, b = net0.shape
    k = 0 if transformer0 is None else transformer0.shape[1]
    nb = n * b
    nvar = 3 * nb + 2 * n + k * n

    def ix(kind, j, t):
        return {"ch": 0, "dis": nb, "soc": 2 * nb}[kind] + j * n + t

    c = np.zeros(nvar)
    c[:2 * nb] = eps * dt
    c[3 * nb:3 * nb + n] = dt * import_price
    c[3 * nb + n:3 * nb + 2 * n] = -dt * export_price
    c[3 * nb + 2 * n:] = shadow * dt
    a_eq = lil_matrix((nb + n, nvar))
    b_eq = np.zeros(nb + n)
    row = 0
    for j in range(b):
        for t in range(n):
            a_eq[row, ix("soc", j, t)] = 1.0
            if t:
                a_eq[row, ix("soc", j, t - 1)] = -1.0
            else:
                b_eq[row] = soc0[j]
            a_eq[row, ix("ch", j, t)] = -dt * eff[j]
            a_eq[row, ix("dis", j, t)] = dt / eff[j]
            row += 1
    for t in range(n):
        a_eq[row, 3 * nb + t] = 1.0
        a_eq[row, 3 * nb + n + t] = -1.0
        for j in range(b):
            a_eq[row, ix("ch", j, t)] = -1.0
            a_eq[row, ix("dis", j, t)] = 1.0
        b_eq[row] = net0[t].sum()
        row += 1
    a_ub = lil_matrix((2 * k * n, nvar))
    b_ub = np.zeros(2 * k * n)
    row = 0
    for kk in range(k):
        for t in range(n):
            u = 3 * nb + 2 * n + kk * n + t
            for sign in (1.0, -1.0):  # u >= sign*(L0 + fleet) - theta
                a_ub[row, u] = -1.0
                for j in np.flatnonzero(site_tr == kk):
                    a_ub[row, ix("ch", j, t)] = sign
                    a_ub[row, ix("dis", j, t)] = -sign
                b_ub[row] = theta[kk] - sign * transformer0[t, kk]
                row += 1
    bounds = ([(0, p) for p in np.repeat(power, n)] * 2
              + [(0, e) for e in np.repeat(capacity, n)] + [(0, None)] * (2 * n + k * n))
    res = linprog(c, A_ub=a_ub.tocsr() if k else None, b_ub=b_ub if k else None,
                  A_eq=a_eq.tocsr(), b_eq=b_eq, bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return res.fun, res.x
