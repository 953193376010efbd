"""Typed configs: dataclasses with defaults, loaded from TOML, overridden with ``key=value``.

Every task has one config dataclass (nested dataclasses for sections). ``load_config`` layers
``defaults <- recipe TOML <- --set overrides``, checks each value's type against the field, and
reports a bad or unknown key in one line naming it. ``dump_config`` writes the resolved config
as TOML, saved with every run and inside every checkpoint.
"""

import dataclasses
import tomllib
import types
import typing
from pathlib import Path

import tomli_w

from auralab.errors import ConfigError


def load_config(cls, path: str | Path | None = None, overrides: list[str] | tuple = ()):
    """Build ``cls`` from defaults, an optional TOML file, then ``section.key=value`` overrides.

    Override values are parsed as TOML (``trainer.lr=3e-4``, ``model.name="crn"``, bare words
    become strings: ``model.name=crn``).
    """
    data = read_recipe(path) if path is not None else {}
    for item in overrides:
        key, value = _parse_override(item)
        _set_nested(data, key.split("."), value)
    return from_dict(cls, data)


def add_set_argument(parser, example: str) -> None:
    """Add the repeatable ``--set KEY=VALUE`` option; values are collected in ``args.overrides``
    for ``load_config``."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a config value, e.g. --set {example}",
    )


def override(key: str, value) -> str:
    """``key=value`` for ``load_config`` with ``value`` written as TOML (a path or host string
    is quoted and escaped, so no character in it can break the parse)."""
    return f"{key}={tomli_w.dumps({'v': value}).split('=', 1)[1].strip()}"


def read_recipe(path: str | Path, _seen: tuple = ()) -> dict:
    """Read a recipe TOML; ``extends = "other.toml"`` (relative to it) layers it on a base."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    if path.resolve() in _seen:
        raise ConfigError(f"{path}: `extends` goes round in a circle")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    base = data.pop("extends", None)
    if base is None:
        return data
    return _merge(read_recipe(path.parent / base, (*_seen, path.resolve())), data)


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def from_dict(cls, data: dict, prefix: str = ""):
    """Instantiate dataclass ``cls`` from a nested dict, checking keys and value types."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"config key {prefix}{unknown[0]} is unknown; "
            f"known keys here: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, f"{prefix}{name}")
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"config section {prefix or 'top'}: {e}") from None


def to_dict(cfg) -> dict:
    """Plain nested dict of a config (drops ``None``, which TOML cannot hold)."""
    return _drop_none(dataclasses.asdict(cfg))


def dump_config(cfg, path: str | Path) -> None:
    """Write ``cfg`` as TOML atomically."""
    from auralab.atomic import atomic_write_text

    atomic_write_text(Path(path), tomli_w.dumps(to_dict(cfg)))


def _coerce(hint, value, key: str):
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key} must be a table (section), got {value!r}")
        return from_dict(hint, value, prefix=f"{key}.")
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is not type(None):
                try:
                    return _coerce(arg, value, key)
                except ConfigError:
                    continue
        raise ConfigError(f"config key {key}: {value!r} does not fit {hint}")
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise ConfigError(
                f"config key {key}={value!r}; choose one of {', '.join(map(repr, choices))}"
            )
        return value
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"config key {key} must be a list, got {value!r}")
        inner = typing.get_args(hint)
        if origin is tuple and inner and inner[-1] is not Ellipsis:
            if len(value) != len(inner):
                raise ConfigError(f"config key {key} needs {len(inner)} values, got {len(value)}")
            return tuple(_coerce(h, v, key) for h, v in zip(inner, value, strict=True))
        item = inner[0] if inner else typing.Any
        return origin(_coerce(item, v, key) for v in value)
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key} must be a table, got {value!r}")
        return dict(value)
    if hint is typing.Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and type(value) is not hint:
        raise ConfigError(f"config key {key} must be {hint.__name__}, got {value!r}")
    return value


def _parse_override(item: str) -> tuple[str, object]:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: write it as section.key=value, e.g. trainer.lr=3e-4")
    key, raw = item.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word such as crn or cuda is meant as a string
    return key.strip(), value


def _set_nested(data: dict, keys: list[str], value) -> None:
    for k in keys[:-1]:
        data = data.setdefault(k, {})
        if not isinstance(data, dict):
            raise ConfigError(f"--set {'.'.join(keys)}: {k} is a value, not a section")
    data[keys[-1]] = value


def _drop_none(x):
    if isinstance(x, dict):
        return {k: _drop_none(v) for k, v in x.items() if v is not None}
    if isinstance(x, list | tuple):
        return [_drop_none(v) for v in x]
    return x
