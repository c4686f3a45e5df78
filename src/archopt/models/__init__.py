"""Model families and presets, one file each, registered in ``archopt.registry.MODELS``.

``build_model(section, shape, seed)`` builds one from a spec section; ``list_models(filter)``
lists the registered names. Importing this package registers every family.
"""

from archopt.models import (  # noqa: F401  (importing a family registers it)
    autoencoder,
    cnn,
    gan,
    mlp,
    presets,
    resnet,
    rnn,
    sequential,
    transformer,
)
from archopt.models.build import build_model, check_output
from archopt.registry import MODELS


def list_models(filter: str | None = None) -> list[str]:
    """Registered model families and presets, sorted; ``filter`` keeps names containing it."""
    return MODELS.names(filter)


def describe_models(filter: str | None = None) -> list[dict]:
    """Name, family (the name itself for a family), data kinds and doc line of each model."""
    configs = {MODELS.get(n).config: n for n in MODELS.names()}
    rows = []
    for name in list_models(filter):
        entry = MODELS.get(name)
        base = entry.config.__bases__[0] if entry.config else None
        rows.append({"name": name, "family": configs.get(base, name),
                     "kinds": list(getattr(entry.config, "kinds", ())), "doc": entry.doc})
    return rows


__all__ = ["build_model", "check_output", "describe_models", "list_models"]
