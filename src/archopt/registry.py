"""One registry class, keyed by name, filled by a decorator (timm's ``register_model``).

Every pluggable kind (datasets, models, losses, optimizers, schedulers, metrics, callbacks,
augmentations, tasks) has one ``Registry``. An entry is a builder plus an optional pydantic
``config`` class that validates the entry's section of the spec, so a typo in a family's
parameter is caught with a "did you mean" before anything runs.

The registries are filled lazily: ``get``/``names`` first import the package that registers the
entries (``archopt.models`` for models), so the spec layer can look names up without importing
torch until it must.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from archopt.errors import UserError, suggest


@dataclass(frozen=True)
class Entry:
    """A registered builder and the pydantic class that validates its parameters."""

    name: str
    fn: Callable[..., Any]
    config: type[BaseModel] | None
    doc: str


class Registry:
    """Named builders of one kind.

    Args:
        kind: what the entries are, for messages ("model", "dataset", ...).
        package: module imported on first lookup so that its entries register themselves.
    """

    def __init__(self, kind: str, package: str | None = None) -> None:
        self.kind, self.package = kind, package
        self._entries: dict[str, Entry] = {}
        self._loaded = package is None

    def register(
        self, name: str | None = None, *, config: type[BaseModel] | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: ``@MODELS.register("cnn", config=CNNConfig)``. A name may be taken once."""

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            key = name or fn.__name__
            if key in self._entries:
                raise ValueError(f"{self.kind} '{key}' is registered twice")
            doc = (fn.__doc__ or "").strip().splitlines()
            self._entries[key] = Entry(key, fn, config, doc[0] if doc else "")
            return fn

        return deco

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            importlib.import_module(self.package)  # type: ignore[arg-type]

    def names(self, filter: str | None = None) -> list[str]:
        """Registered names, sorted; ``filter`` keeps those containing it."""
        self._load()
        return sorted(n for n in self._entries if filter is None or filter in n)

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._entries

    def get(self, name: str, where: str = "name") -> Entry:
        """The entry called ``name``; a UserError naming ``where`` and the choices if missing."""
        self._load()
        if name not in self._entries:
            hint = suggest(name, self._entries) or f"choose one of: {', '.join(self.names())}"
            raise UserError(where, f"unknown {self.kind} '{name}'", hint)
        return self._entries[name]

    def validate(self, name: str, params: Mapping[str, Any], where: str,
                 common: tuple[str, ...] = ()) -> BaseModel | dict:
        """Check ``params`` against the entry's config; returns the typed config.

        ``where`` is the spec path of the section (``model``); errors name ``model.<field>``.
        ``common`` are the section's fields handled elsewhere (offered in suggestions too).
        """
        entry = self.get(name, f"{where}.name")
        if entry.config is None:
            if params:
                key = next(iter(params))
                hint = suggest(key, common) or f"{self.kind} '{name}' takes no parameters"
                raise UserError(f"{where}.{key}", "unknown field", hint)
            return {}
        try:
            return entry.config.model_validate(dict(params))
        except ValidationError as exc:
            raise config_error(exc, where, entry.config, common) from None

    def build(self, section: Mapping[str, Any], where: str, **context: Any) -> Any:
        """Validate ``section`` (a dict with ``name``), then call the builder with ``context``."""
        params = dict(section)
        name = params.pop("name", None)
        if name is None:
            raise UserError(f"{where}.name", f"missing the {self.kind} name",
                            f"choose one of: {', '.join(self.names())}")
        cfg = self.validate(name, params, where)
        return self.get(name).fn(cfg, **context)


def config_error(exc: ValidationError, where: str, config: type[BaseModel] | None,
                 common: tuple[str, ...] = ()) -> UserError:
    """Turn the first pydantic error into a UserError at ``where.<loc>``, with a suggestion."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    path = f"{where}.{loc}" if where and loc else (where or loc)
    if err["type"] == "extra_forbidden":
        fields = (list(config.model_fields) if config is not None else []) + list(common)
        field = str(err["loc"][-1])
        hint = suggest(field, fields) or (
            f"valid fields: {', '.join(fields)}" if fields else None)
        return UserError(path, "unknown field", hint)
    if err["type"] == "missing":
        return UserError(path, "required field is missing")
    got = err.get("input")
    shown = repr(got) if not isinstance(got, dict | list) or len(repr(got)) < 60 else "..."
    return UserError(path, f"{err['msg'].lower()} (got {shown})")


# One registry per pluggable kind; `package` is the module whose import fills it.
DATASETS = Registry("dataset", "archopt.data")
AUGMENTATIONS = Registry("augmentation", "archopt.data")
MODELS = Registry("model", "archopt.models")
LOSSES = Registry("loss", "archopt.train")
OPTIMIZERS = Registry("optimizer", "archopt.train")
SCHEDULERS = Registry("scheduler", "archopt.train")
METRICS = Registry("metric", "archopt.train")
CALLBACKS = Registry("callback", "archopt.train")
TASKS = Registry("task", "archopt.train")
