"""Search spaces over spec paths: parse the ``tune.space`` mapping, sample it through an Optuna
trial, and write the sampled values into a spec.

A space maps a dotted spec path (``train.optimizer.lr``, ``model.channels``, ``model.channels.0``)
to one distribution::

    {float: [low, high], log: true}          # or step: 0.1 (not both)
    {int: [low, high], step: 2}              # or log: true
    {choice: [a, b, c]}                      # any YAML values: numbers, strings, lists, mappings
    {choice: [{option: {name: sgd}, space: {train.optimizer.momentum: {float: [0, 0.99]}}},
              {option: {name: adam}}]}       # an option with its own (conditional) sub-space
    {list: {length: [1, 4], item: {choice: [8, 16, 32]}}}   # a list whose length is searched too
    {list: {length: [1, 4], item: {choice: [8, 16]},         # ... with sibling lists of the same
            with: {kernel_sizes: {choice: [3, 5]}}}}         # length (per-stage fields)

Optuna parameters are named after their paths (a list's items ``path.0``, ``path.1``, ...), so
the study reads the same in ``trials.csv``, the plots and optuna-dashboard. A choice among lists
or mappings is a categorical over short labels (a mapping's ``name`` when it is unique among the
options, else compact JSON). A mapping replaces the whole section at its path; paths are applied
shortest first, so a sub-space refines the section its option chose.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from archopt.errors import UserError

Scalar = (str, int, float, bool, type(None))


@dataclass
class Float:
    low: float
    high: float
    log: bool = False
    step: float | None = None


@dataclass
class Int:
    low: int
    high: int
    log: bool = False
    step: int = 1


@dataclass
class Option:
    value: Any
    label: Any
    space: dict[str, Any] = field(default_factory=dict)   # path -> distribution


@dataclass
class Choice:
    options: list[Option]


@dataclass
class ListSpace:
    length: Int
    item: Any                                              # a distribution
    siblings: dict[str, Any] = field(default_factory=dict)  # sibling field -> item distribution


Dist = Float | Int | Choice | ListSpace
KEYS = ("float", "int", "choice", "list")


def parse_space(raw: dict[str, Any], where: str = "tune.space") -> dict[str, Dist]:
    """Typed distributions from the YAML mapping; a UserError naming the first bad entry."""
    if not isinstance(raw, dict) or not raw:
        raise UserError(where, "must be a non-empty mapping of spec path -> distribution",
                        "example: {train.optimizer.lr: {float: [0.0001, 0.1], log: true}}")
    out: dict[str, Dist] = {}
    for path, spec in raw.items():
        if not isinstance(path, str) or not path or any(not p for p in path.split(".")):
            raise UserError(f"{where}.{path}", "a space key must be a dotted spec path",
                            "example: train.optimizer.lr")
        out[path] = parse_dist(spec, f"{where}.{path}")
    return out


def parse_dist(spec: Any, where: str) -> Dist:
    """One distribution: exactly one of float/int/choice/list, plus log/step."""
    if not isinstance(spec, dict):
        raise UserError(where, f"expected a distribution, got {spec!r}",
                        "write {float: [low, high]}, {int: [low, high]} or {choice: [...]}")
    kinds = [k for k in KEYS if k in spec]
    extra = set(spec) - set(KEYS) - {"log", "step"}
    if extra:
        from archopt.errors import suggest

        bad = sorted(map(str, extra))[0]
        raise UserError(f"{where}.{bad}", "unknown key in a distribution",
                        suggest(bad, [*KEYS, "log", "step"]) or
                        "allowed: float, int, choice, list, log, step")
    if len(kinds) != 1:
        raise UserError(where, "give exactly one of float, int, choice or list",
                        "example: {float: [0.0001, 0.1], log: true}")
    kind = kinds[0]
    log, step = spec.get("log", False), spec.get("step")
    if kind in ("choice", "list") and ("log" in spec or step is not None):
        raise UserError(where, f"log and step apply to float and int, not to {kind}")
    if not isinstance(log, bool):
        raise UserError(f"{where}.log", f"must be true or false, got {log!r}")
    if kind == "float":
        low, high = _bounds(spec["float"], f"{where}.float", float)
        if step is not None and (not isinstance(step, int | float) or step <= 0):
            raise UserError(f"{where}.step", f"must be a positive number, got {step!r}")
        _check_log_step(log, step, low, where)
        return Float(low, high, log, None if step is None else float(step))
    if kind == "int":
        low, high = _bounds(spec["int"], f"{where}.int", int)
        if step is not None and (not isinstance(step, int) or step <= 0):
            raise UserError(f"{where}.step", f"must be a positive integer, got {step!r}")
        _check_log_step(log, step, low, where)
        return Int(low, high, log, step or 1)
    if kind == "choice":
        return _choice(spec["choice"], f"{where}.choice")
    return _list(spec["list"], f"{where}.list")


def _bounds(v: Any, where: str, typ: type) -> tuple[Any, Any]:
    ok = isinstance(v, list) and len(v) == 2 and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in v)
    if typ is int:
        ok = ok and all(isinstance(x, int) for x in v)
    if not ok:
        raise UserError(where, f"must be [low, high] of {typ.__name__}s, got {v!r}",
                        f"example: {typ.__name__}: [1, 10]")
    low, high = typ(v[0]), typ(v[1])
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise UserError(where, f"low must be below high, got [{v[0]}, {v[1]}]",
                        f"write [{v[1]}, {v[0]}]" if low > high else "give a range, or a choice")
    return low, high


def _check_log_step(log: bool, step: Any, low: float, where: str) -> None:
    if log and step is not None:
        raise UserError(where, "log and step cannot be combined (Optuna samples one or the other)")
    if log and low <= 0:
        raise UserError(f"{where}.log", f"a log range needs low > 0, got {low}",
                        "raise the lower bound, or drop log: true")


def _choice(options: Any, where: str) -> Choice:
    if not isinstance(options, list) or not options:
        raise UserError(where, "an empty choice: give at least one option",
                        "example: choice: [16, 32, 64]")
    parsed = []
    for i, opt in enumerate(options):
        if isinstance(opt, dict) and "option" in opt and set(opt) <= {"option", "space"}:
            sub = parse_space(opt["space"], f"{where}.{i}.space") if "space" in opt else {}
            parsed.append(Option(opt["option"], None, sub))
        else:
            parsed.append(Option(opt, None))
    names = [o.value.get("name") if isinstance(o.value, dict) else None for o in parsed]
    for o, name in zip(parsed, names):
        if isinstance(o.value, Scalar):
            o.label = o.value
        elif isinstance(name, str) and names.count(name) == 1:
            o.label = name
        else:
            o.label = json.dumps(o.value, separators=(",", ":"), sort_keys=True)
    labels = [json.dumps(o.label) for o in parsed]
    if len(set(labels)) != len(labels):
        raise UserError(where, "the same option appears twice", "list each option once")
    return Choice(parsed)


def _list(spec: Any, where: str) -> ListSpace:
    if not isinstance(spec, dict) or not {"length", "item"} <= set(spec) <= {
            "length", "item", "with"}:
        raise UserError(where, "a list space needs length and item (and optionally with)",
                        "example: list: {length: [1, 4], item: {choice: [8, 16, 32]}}")
    length = spec["length"]
    if isinstance(length, int) and not isinstance(length, bool):
        low, high = length, length
    elif isinstance(length, list) and len(length) == 2 and length[0] == length[1]:
        low, high = _bounds([length[0], length[0] + 1], f"{where}.length", int)[0], length[0]
    else:
        low, high = _bounds(length, f"{where}.length", int)
    if low < 1:
        raise UserError(f"{where}.length", "a list needs at least one item")
    item = parse_dist(spec["item"], f"{where}.item")
    if isinstance(item, ListSpace):
        raise UserError(f"{where}.item", "lists of lists are not supported")
    siblings = spec.get("with") or {}
    if not isinstance(siblings, dict) or any(not isinstance(k, str) or "." in k
                                             for k in siblings):
        raise UserError(f"{where}.with", "must map sibling field names to item distributions",
                        "example: with: {kernel_sizes: {choice: [3, 5, 7]}}")
    parsed = {k: parse_dist(v, f"{where}.with.{k}") for k, v in siblings.items()}
    if any(isinstance(d, ListSpace) for d in parsed.values()):
        raise UserError(f"{where}.with", "lists of lists are not supported")
    return ListSpace(Int(low, high), item, parsed)


# -- sampling ------------------------------------------------------------------------------------


def sample(trial: Any, space: dict[str, Dist]) -> dict[str, Any]:
    """Ask ``trial`` for every parameter (define-by-run); returns {path: value} in apply order."""
    values: dict[str, Any] = {}
    for path, dist in space.items():
        _sample_one(trial, path, dist, values)
    return dict(sorted(values.items(), key=lambda kv: kv[0].count(".")))


def _sample_one(trial: Any, path: str, dist: Dist, values: dict[str, Any]) -> None:
    if isinstance(dist, Float):
        values[path] = trial.suggest_float(path, dist.low, dist.high, log=dist.log,
                                           step=dist.step)
    elif isinstance(dist, Int):
        values[path] = trial.suggest_int(path, dist.low, dist.high, log=dist.log,
                                         step=dist.step)
    elif isinstance(dist, Choice):
        labels = [o.label for o in dist.options]
        label = trial.suggest_categorical(path, labels)
        opt = dist.options[labels.index(label)]
        values[path] = opt.value
        for sub_path, sub in opt.space.items():
            _sample_one(trial, sub_path, sub, values)
    else:
        n = trial.suggest_int(f"{path}.length", dist.length.low, dist.length.high)
        items: dict[str, Any] = {}
        for i in range(n):
            _sample_one(trial, f"{path}.{i}", dist.item, items)
        values[path] = [items[f"{path}.{i}"] for i in range(n)]
        values.update({k: v for k, v in items.items() if k.count(".") > path.count(".") + 1})
        for name, sub in dist.siblings.items():  # same length, one parameter per item
            sib = _sibling(path, name)
            for i in range(n):
                _sample_one(trial, f"{sib}.{i}", sub, items)
            values[sib] = [items[f"{sib}.{i}"] for i in range(n)]


def apply(data: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Write sampled values into a spec dict (in place; shortest paths first) and return it."""
    import copy

    for path, value in values.items():
        set_path(data, path, copy.deepcopy(value))
    return data


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """``a.b.0.c = value``: mappings are created as needed, digits index lists."""
    keys = path.split(".")
    node: Any = data
    for k in keys[:-1]:
        if isinstance(node, list) and k.isdigit() and int(k) < len(node):
            node = node[int(k)]
            continue
        if not isinstance(node, dict):
            raise UserError(f"tune.space.{path}", f"'{k}' is inside a value that is not a section")
        if not isinstance(node.get(k), dict | list):
            node[k] = {}
        node = node[k]
    last = keys[-1]
    if isinstance(node, list) and last.isdigit():
        if int(last) >= len(node):
            raise UserError(f"tune.space.{path}", f"index {last} is past the list's end "
                            f"({len(node)} items)", "search a shorter index or the whole list")
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise UserError(f"tune.space.{path}", "the path goes inside a value that is not a section")


# -- the whole space at once: checks and grids ---------------------------------------------------


def branches(space: dict[str, Dist]) -> list[dict[str, Any]]:
    """One representative assignment per choice option and per bound: every path of every
    conditional sub-space, each bound of every range, appears in at least one of them."""
    out: list[dict[str, Any]] = []
    for end in (0, 1):
        base = {p: _pick(d, end, p) for p, d in space.items()}
        out.append(_flatten(base))
    for path, dist in space.items():
        if isinstance(dist, Choice):
            for opt in dist.options:
                vals = {p: _pick(d, 0, p) for p, d in space.items()}
                vals[path] = (opt.value, {sp: _pick(sd, 0, sp) for sp, sd in opt.space.items()})
                out.append(_flatten(vals))
                if opt.space:
                    vals[path] = (opt.value, {sp: _pick(sd, 1, sp) for sp, sd in opt.space.items()})
                    out.append(_flatten(vals))
    return out


def _sibling(path: str, name: str) -> str:
    """The path of a list's sibling field (``model.channels`` + ``kernel_sizes``)."""
    return path.rsplit(".", 1)[0] + "." + name if "." in path else name


def _pick(d: Dist, end: int, path: str = "") -> Any:
    if isinstance(d, Float | Int):
        return (d.low if end == 0 else d.high, {})
    if isinstance(d, Choice):
        opt = d.options[0 if end == 0 else -1]
        return (opt.value, {p: _pick(s, end, p) for p, s in opt.space.items()})
    n = d.length.low if end == 0 else d.length.high
    return ([_pick(d.item, end)[0] for _ in range(n)],
            {_sibling(path, name): ([_pick(s, end)[0] for _ in range(n)], {})
             for name, s in d.siblings.items()})


def _flatten(vals: dict[str, tuple[Any, dict]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, (value, sub) in vals.items():
        out[path] = value
        out.update(_flatten(sub))
    return dict(sorted(out.items(), key=lambda kv: kv[0].count(".")))


def grid(space: dict[str, Dist], where: str = "tune.space") -> dict[str, list[Any]]:
    """Optuna GridSampler's search space: every value of every parameter, by its name."""
    out: dict[str, list[Any]] = {}
    for path, d in space.items():
        here = f"{where}.{path}"
        if isinstance(d, Float):
            if d.step is None:
                raise UserError(here, "grid search over a continuous range",
                                "give the range a step, or list the values with choice")
            n = int(math.floor((d.high - d.low) / d.step + 1e-9))
            out[path] = [round(d.low + i * d.step, 12) for i in range(n + 1)]
        elif isinstance(d, Int):
            if d.log:
                raise UserError(here, "grid search over a log range",
                                "list the values with choice")
            out[path] = list(range(d.low, d.high + 1, d.step))
        elif isinstance(d, Choice):
            if any(o.space for o in d.options):
                raise UserError(here, "grid search cannot take conditional sub-spaces",
                                "use random, tpe or another sampler, or flatten the choice")
            out[path] = [o.label for o in d.options]
        else:
            raise UserError(here, "grid search cannot take a list space",
                            "use random, tpe or nsga2, or list whole lists with choice")
    return out


def grid_size(g: dict[str, list[Any]]) -> int:
    return math.prod(len(v) for v in g.values())
