"""Load a spec from YAML, apply ``--set a.b=value`` overrides, validate, and save it.

Errors name the file and line (YAML syntax, a bad field) or the override, so that the CLI can
print them as ``error: <where>: <what>``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from archopt.errors import UserError
from archopt.registry import config_error
from archopt.spec.schema import Spec


def read_yaml(path: str | os.PathLike) -> tuple[dict[str, Any], yaml.Node | None]:
    """Parse a YAML mapping; returns it and its node tree (for line numbers)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(str(p), "spec file not found" if not p.exists() else "not a file",
                        "check the path")
    text = p.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark else str(p)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(where, f"invalid YAML: {problem}", "fix the syntax on that line") from None
    if data is None:
        raise UserError(str(p), "the spec file is empty",
                        "start from one of the files in examples/")
    if not isinstance(data, dict):
        raise UserError(str(p), f"a spec must be a mapping of sections, not {type(data).__name__}")
    return data, node


def line_of(node: yaml.Node | None, path: Iterable[str | int]) -> int | None:
    """1-based line of the deepest node along ``path`` in a composed YAML tree."""
    line = None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == str(key)]
            if not match:
                break
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


def parse_override(text: str) -> tuple[list[str], Any]:
    """``'train.optimizer.lr=0.003'`` -> (['train', 'optimizer', 'lr'], 0.003)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
        raise UserError(f"--set {text}", "an override must look like a.b.c=value",
                        "example: --set train.optimizer.lr=0.003")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        raise UserError(f"--set {text}", "the value is not valid YAML",
                        "quote strings and write lists as [1, 2]") from None
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, list[str]]:
    """Set each ``a.b=value`` in ``data`` in place; returns {dotted path: override text}."""
    applied: dict[str, list[str]] = {}
    for text in overrides:
        keys, value = parse_override(text)
        node: Any = data
        for i, k in enumerate(keys[:-1]):
            nxt = node.get(k) if isinstance(node, dict) else None
            if nxt is None:
                nxt = node[k] = {}
            if not isinstance(nxt, dict):
                raise UserError(f"--set {text}", f"'{'.'.join(keys[: i + 1])}' is not a section")
            node = nxt
        node[keys[-1]] = value
        applied[".".join(keys)] = [text]
    return applied


def load_spec(
    source: str | os.PathLike | Mapping[str, Any], overrides: Iterable[str] = (),
    validate_plugins: bool = True,
) -> Spec:
    """Load and validate an experiment spec.

    Args:
        source: a YAML file path, or a dict with the same structure.
        overrides: ``a.b=value`` strings, values parsed as YAML, applied before validation.
        validate_plugins: also check the model, dataset, optimizer, loss and scheduler
            sections against their registered configs (imports torch).

    Raises:
        UserError: naming the file and line, the field, or the override that is wrong.
    """
    if isinstance(source, Mapping):
        data, node, origin = _deepcopy(dict(source)), None, "spec"
    else:
        data, node = read_yaml(source)
        origin = str(source)
    applied = apply_overrides(data, overrides)

    def where(path: str) -> str:
        for key, texts in applied.items():
            if path == key or path.startswith(key + ".") or key.startswith(path + "."):
                return f"--set {texts[0]}"
        line = line_of(node, path.split("."))
        return f"{origin}:{line}: {path}" if line else path

    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        err = config_error(exc, "", Spec)
        raise _relocate(err, where, exc) from None
    if validate_plugins:
        from archopt.spec.resolve import check_plugins

        try:
            check_plugins(spec)
        except UserError as err:
            raise _relocate(err, where) from None
    return spec


def _relocate(err: UserError, where: Any, exc: ValidationError | None = None) -> UserError:
    """Point a field error at its file line or its --set override."""
    path = err.where
    if exc is not None and exc.errors()[0]["type"] == "extra_forbidden":
        loc = [str(p) for p in exc.errors()[0]["loc"]]
        hint = _section_suggestion(loc) or err.hint
        return UserError(where(path), err.what, hint)
    return UserError(where(path), err.what, err.hint)


def _section_suggestion(loc: list[str]) -> str | None:
    from archopt.errors import suggest
    from archopt.search import schema as search_schema
    from archopt.spec import schema

    sections: dict[str, type] = {"": schema.Spec, "data": schema.DataSpec,
                                 "train": schema.TrainSpec, "train.optimizer": schema.OptimizerSpec,
                                 "train.regularization": schema.Regularization,
                                 "train.early_stopping": schema.EarlyStopping,
                                 "tune": schema.TuneSpec, "search": schema.SearchSpec,
                                 "search.latency": search_schema.LatencySpec,
                                 "search.prescreen": search_schema.PrescreenSpec}
    cls = sections.get(".".join(loc[:-1]))
    return suggest(loc[-1], cls.model_fields) if cls else None


def _deepcopy(d: dict[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(d)


def spec_to_yaml(spec: Spec) -> str:
    """The resolved spec as YAML, every default written out, ready to run again."""
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)


def save_spec(spec: Spec, path: str | os.PathLike) -> None:
    """Write the resolved spec atomically."""
    write_atomic(path, spec_to_yaml(spec))


def write_atomic(path: str | os.PathLike, text: str | bytes) -> None:
    """Write a file through a temporary file in the same folder and a rename."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp's 0600 would make every output owner-only
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    """The process's umask (read by setting it and putting it back: once, at import)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
