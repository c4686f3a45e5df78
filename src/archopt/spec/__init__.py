"""The experiment spec: typed sections, YAML loading, overrides. No torch here."""

from archopt.spec.load import apply_overrides, load_spec, save_spec, spec_to_yaml, write_atomic
from archopt.spec.schema import (
                                 DataSpec,
                                 EarlyStopping,
                                 LossSpec,
                                 ModelSpec,
                                 OptimizerSpec,
                                 Regularization,
                                 SchedulerSpec,
                                 Spec,
                                 TrainSpec,
)

__all__ = ["DataSpec", "EarlyStopping", "LossSpec", "ModelSpec", "OptimizerSpec",
           "Regularization", "SchedulerSpec", "Spec", "TrainSpec", "apply_overrides",
           "load_spec", "save_spec", "spec_to_yaml", "write_atomic"]
