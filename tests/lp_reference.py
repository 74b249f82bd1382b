"""An independent formulation of the cost LPs (M0, M2, M4) with scipy's linprog.

Written from the equations in ansen/models/cost.py, without Pyomo, to check the
package's optimum on small cases.
"""

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import lil_matrix


def community_cost_optimum(net0, import_price, export_price, capacity, power, eff, soc0, dt,
                           eps=1e-4, wear=0.0, end_value=None, meter="household", shadow=0.0,
                           transformer0=None, theta=None, site_tr=None):
    """Optimal objective of M2 (shadow=0) or M4 for one horizon.

    net0 (N, B); prices (N, B) per household meter, or (N,) for one community meter
    (``meter="community"``) or the same for all; battery arrays (B,); end_value (B,)
    [EUR/kWh] on the state of charge at the last step; transformer0 (N, K), theta (K,).
    Variable order: ch (B*N), dis (B*N), soc (B*N), imp (M*N), exp (M*N), u (K*N)
    with M = B meters (household) or 1 (community).
    """
    n, b = net0.shape
    k = 0 if transformer0 is None else transformer0.shape[1]
    meters = b if meter == "household" else 1
    import_price = np.asarray(import_price, dtype=float).reshape(n, -1)
    export_price = np.asarray(export_price, dtype=float).reshape(n, -1)
    if import_price.shape[1] != meters:
        import_price = np.repeat(import_price[:, :1], meters, axis=1)
        export_price = np.repeat(export_price[:, :1], meters, axis=1)
    nb, nm = n * b, n * meters
    i_imp, i_exp, i_u = 3 * nb, 3 * nb + nm, 3 * nb + 2 * nm
    nvar = i_u + k * n

    def ix(kind, j, t):
        return {"ch": 0, "dis": nb, "soc": 2 * nb}[kind] + j * n + t

    c = np.zeros(nvar)
    c[:2 * nb] = (eps + wear) * dt
    c[i_imp:i_exp] = dt * import_price.T.ravel()
    c[i_exp:i_u] = -dt * export_price.T.ravel()
    c[i_u:] = shadow * dt
    if end_value is not None:
        for j in range(b):
            c[ix("soc", j, n - 1)] -= end_value[j]
    a_eq = lil_matrix((nb + nm, nvar))
    b_eq = np.zeros(nb + nm)
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
    for mtr in range(meters):
        on = range(b) if meters == 1 else [mtr]
        for t in range(n):
            a_eq[row, i_imp + mtr * n + t] = 1.0
            a_eq[row, i_exp + mtr * n + t] = -1.0
            for j in on:
                a_eq[row, ix("ch", j, t)] = -1.0
                a_eq[row, ix("dis", j, t)] = 1.0
            b_eq[row] = net0[t, list(on)].sum()
            row += 1
    a_ub = lil_matrix((2 * k * n, nvar))
    b_ub = np.zeros(2 * k * n)
    row = 0
    for kk in range(k):
        for t in range(n):
            u = i_u + kk * n + t
            for sign in (1.0, -1.0):  # u >= sign*(L0 + fleet) - theta
                a_ub[row, u] = -1.0
                for j in np.flatnonzero(site_tr == kk):
                    a_ub[row, ix("ch", j, t)] = sign
                    a_ub[row, ix("dis", j, t)] = -sign
                b_ub[row] = theta[kk] - sign * transformer0[t, kk]
                row += 1
    bounds = ([(0, p) for p in np.repeat(power, n)] * 2
              + [(0, e) for e in np.repeat(capacity, n)] + [(0, None)] * (2 * nm + k * n))
    res = linprog(c, A_ub=a_ub.tocsr() if k else None, b_ub=b_ub if k else None,
                  A_eq=a_eq.tocsr(), b_eq=b_eq, bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return res.fun, res.x
