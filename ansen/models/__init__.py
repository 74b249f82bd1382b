"""Steering models of the Ansen pilot, registered by id.

=========  ===========================================================
id         model
=========  ===========================================================
none       no battery
M0         individual day-ahead arbitrage (beyond the pilot)
M1         maximum self-consumption (rule; the pilot's baseline)
M2         community cost with internal netting
M3         grid-operator command: flatten the transformer load
M4         community cost + shadow price on transformer congestion
M5         community cost + shadow prices on forecast MV load
M6         M4 + code red / code green behaviour
M4+M5      two layers: M4 always on, M5 on top (the report's advice)
=========  ===========================================================

The equations are in each module's docstring and in docs/models.md.
"""

from ansen.models.base import Context, HorizonInputs, LPRunner, SolveError, SteeringModel
from ansen.models.behaviour import FlashMob
from ansen.models.cost import (
    CommunityCost,
    IndividualCost,
    LocalCongestion,
    RegionalSupport,
    TwoLayer,
)
from ansen.models.flatten import FlattenTransformer
from ansen.models.rule import NoBattery, SelfConsumption

MODELS: dict[str, type[SteeringModel]] = {
    cls.id: cls
    for cls in (NoBattery, IndividualCost, SelfConsumption, CommunityCost, FlattenTransformer,
                LocalCongestion, RegionalSupport, FlashMob, TwoLayer)
}

__all__ = ["MODELS", "Context", "HorizonInputs", "LPRunner", "SolveError", "get_model"]


def get_model(model: str | SteeringModel, **params) -> SteeringModel:
    """A steering model instance by id (``"M1"``, ...) with parameters.

    Raises
    ------
    ValueError
        Unknown id (the message lists the known ones) or unknown parameter.
    """
    if isinstance(model, SteeringModel):
        if params:
            raise ValueError("give parameters either to the model instance or here, not both")
        return model
    if model not in MODELS:
        raise ValueError(f"unknown steering model {model!r}; known: {', '.join(MODELS)}")
    return MODELS[model](params=params)
