"""The compiled LP (ansen.models.lp) against Pyomo's own LP writer, its refusals, GLPK lookup."""

import numpy as np
import pyomo.environ as pyo
import pytest

from ansen.models import get_model
from ansen.models.lp import GlpkBackend, HighsBackend, NotCompilable, compile_lp
from ansen.solvers import SolverNotFound, glpk_library, glpsol_path
from tests.test_models import _ctx, _inputs

LP_MODELS = ["M0", "M2", "M3", "M4", "M5", "M6", "M4+M5"]


def _tiny():
    """min p*x + 2y, x + y >= q, x - y == r, 0 <= x <= 4, y >= 0 (p, q, r mutable)."""
    m = pyo.ConcreteModel()
    m.p = pyo.Param(mutable=True, initialize=1.0)
    m.q = pyo.Param(mutable=True, initialize=3.0)
    m.r = pyo.Param(mutable=True, initialize=1.0)
    m.x = pyo.Var(bounds=(0, 4))
    m.y = pyo.Var(domain=pyo.NonNegativeReals)
    m.cover = pyo.Constraint(expr=m.x + m.y >= m.q)
    m.gap = pyo.Constraint(expr=m.x - m.y - m.r == 0)
    m.objective = pyo.Objective(expr=0.5 * m.p * m.x + 2 * m.y + m.q - 1)
    return m


def test_compiled_tiny_lp_has_the_hand_written_matrices_and_follows_its_parameters():
    m = _tiny()
    lp = compile_lp(m)
    x, y = lp.columns[id(m.x)], lp.columns[id(m.y)]
    A = lp.A.toarray()
    assert A[:, [x, y]].tolist() == [[1.0, 1.0], [1.0, -1.0]]
    assert lp.col_lower.tolist() == [0.0, 0.0] and lp.col_upper[[x, y]].tolist() == [4.0, np.inf]
    for p, q, r in [(1.0, 3.0, 1.0), (-2.0, 5.0, 0.5)]:
        m.p.set_value(p), m.q.set_value(q), m.r.set_value(r)
        cost, lower, upper, const = lp.data()
        assert cost[[x, y]].tolist() == [0.5 * p, 2.0]
        assert lower.tolist() == [q, r] and upper.tolist() == [np.inf, r]
        assert const == q - 1


@pytest.mark.parametrize("backend", [HighsBackend, GlpkBackend])
def test_tiny_lp_hand_optimum_before_and_after_a_parameter_change(backend):
    m = _tiny()
    lp = compile_lp(m)
    solver = backend(lp)
    cols = np.array([lp.columns[id(m.x)], lp.columns[id(m.y)]])
    # p=1, q=3, r=1: x - y = 1, x + y >= 3; y costs more than x -> y = 1, x = 2
    xy, obj, status = solver.solve(cols)
    assert status == "optimal"
    assert xy == pytest.approx([2.0, 1.0]) and obj == pytest.approx(0.5 * 2 + 2 * 1 + 3 - 1)
    # p = -8: x is worth taking to its bound 4 -> y = 3
    m.p.set_value(-8.0)
    xy, obj, _ = solver.solve(cols)
    assert xy == pytest.approx([4.0, 3.0]) and obj == pytest.approx(-16 + 6 + 2)
    # r = 5 with x <= 4 and y >= 0 is infeasible: reported, not hidden
    m.r.set_value(5.0)
    xy, obj, status = solver.solve(cols)
    assert status != "optimal" and np.isnan(xy).all()


def _pyomo_glpsol_objective(m) -> float:
    """Pyomo's own LP writer and glpsol: independent of the compiler."""
    opt = pyo.SolverFactory("glpk", executable=str(glpsol_path()))
    res = opt.solve(m)
    assert str(res.solver.termination_condition) == "optimal"
    return float(pyo.value(m.objective))


@pytest.mark.parametrize("model_id", LP_MODELS)
def test_compiled_lp_matches_pyomo_writer_and_glpsol_for_every_model(model_id):
    """Same optimum from the compiled LP (both backends) and from Pyomo + glpsol,
    first solve and after new inputs (the warm re-solve path)."""
    ctx = _ctx()
    model = get_model(model_id)
    m = model.build(ctx)
    backends = None
    for day in range(2):
        model.set_inputs(m, _inputs())
        if backends is None:
            lp = compile_lp(m)
            backends = [HighsBackend(lp), GlpkBackend(lp)]
        cols = np.arange(lp.shape[1])
        objs = [b.solve(cols)[1] for b in backends]
        reference = _pyomo_glpsol_objective(m)
        assert objs == pytest.approx([reference] * 2, rel=1e-7, abs=1e-7), f"day {day}"


def test_parameters_in_the_matrix_or_in_bounds_are_refused_by_name():
    m = pyo.ConcreteModel()
    m.a = pyo.Param(mutable=True, initialize=2.0)
    m.x = pyo.Var(domain=pyo.NonNegativeReals)
    m.c = pyo.Constraint(expr=m.a * m.x >= 1)
    m.objective = pyo.Objective(expr=m.x)
    with pytest.raises(NotCompilable, match="constraint c: the coefficient of x depends on"):
        compile_lp(m)
    m.c.deactivate()
    m.z = pyo.Var(bounds=(0, m.a))
    m.objective.set_value(m.x + m.z)
    with pytest.raises(NotCompilable, match="bound of variable z depends on a mutable"):
        compile_lp(m)


def test_nonlinear_products_of_parameters_and_maximisation_are_refused():
    m = pyo.ConcreteModel()
    m.a = pyo.Param(mutable=True, initialize=2.0)
    m.b = pyo.Param(mutable=True, initialize=3.0)
    m.x = pyo.Var(domain=pyo.NonNegativeReals)
    m.c = pyo.Constraint(expr=m.x >= m.a * m.b)
    m.objective = pyo.Objective(expr=m.x)
    with pytest.raises(NotCompilable, match="multiplies parameters"):
        compile_lp(m)
    m.c.set_value(m.x ** 2 >= 1)
    with pytest.raises(NotCompilable, match="constraint c is not linear"):
        compile_lp(m)
    m.c.set_value(m.x >= m.a)
    m.objective.sense = pyo.maximize
    with pytest.raises(NotCompilable, match="one minimised objective"):
        compile_lp(m)


def test_glpk_library_is_found_and_a_missing_one_is_named(monkeypatch):
    assert glpk_library().is_file()
    import ctypes.util
    import sys

    monkeypatch.setenv("ANSEN_LIBGLPK", "/nowhere/libglpk.so")
    monkeypatch.setitem(sys.modules, "cmeel", None)  # import cmeel -> ImportError
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    with pytest.raises(SolverNotFound, match=r"libglpk not found; looked at /nowhere/libglpk.so"):
        glpk_library()
