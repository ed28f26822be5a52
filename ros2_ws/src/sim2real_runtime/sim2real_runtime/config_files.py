"""Reading the project's description files (robots, vehicles) into frozen dataclasses.

One loader for every kind of ``sim_assets/<name>/<kind>.yaml``: it names the file and the field
of every error (missing, unknown, wrong type, out of range) and builds nested dataclasses and
fixed-length number lists. What a field may hold is read from the dataclass's annotations.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

ASSETS_DIR = Path(__file__).resolve().parents[4] / "sim_assets"
"""``sim_assets/`` of the source tree (robot and vehicle descriptions)."""


def _number(value: Any, source: str, path: str, signed: bool, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(source, path, f"expected a finite number, got {value!r}")
    if positive and not value > 0:
        raise ConfigError(source, path, f"must be > 0, got {value!r}")
    if not signed and value < 0:
        raise ConfigError(source, path, f"must be >= 0, got {value!r}")
    return float(value)


def build_config(
    cls: type,
    data: Any,
    source: str,
    prefix: str = "",
    nested: Mapping[str, type] | None = None,
    signed: Collection[str] = (),
    min_int: int = 1,
    positive: Collection[str] = (),
) -> Any:
    """Build dataclass ``cls`` from a parsed YAML mapping, with errors that name the field.

    Field kinds, from the annotations: ``str`` (non-empty), ``bool``, ``int`` (>= ``min_int``), ``float``
    (finite; > 0 when named in ``positive``, else >= 0 unless named in ``signed``),
    ``tuple[float, ...]`` with a fixed number of entries (a YAML list of that many such numbers),
    and the dataclasses named in ``nested`` (built the same way). A field with a default may be
    left out; a field ``source`` is never read.

    Raises:
        ConfigError: naming ``source`` and the dotted field path.
    """
    return cls(**read_fields(cls, data, source, prefix, nested, signed, min_int, positive))


def read_fields(
    cls: type,
    data: Any,
    source: str,
    prefix: str = "",
    nested: Mapping[str, type] | None = None,
    signed: Collection[str] = (),
    min_int: int = 1,
    positive: Collection[str] = (),
    skip: Collection[str] = (),
) -> dict[str, Any]:
    """The keyword arguments of :func:`build_config`, checked the same way, for a caller that
    builds ``cls`` itself: fields named in ``skip`` are known (not refused as unknown) but left for
    the caller to read."""
    nested = nested or {}
    if not isinstance(data, dict):
        raise ConfigError(
            source, prefix.rstrip(".") or "<root>", f"expected a mapping, got {type(data).__name__}"
        )
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            source, f"{prefix}{unknown[0]}", f"unknown field (known: {', '.join(sorted(fields))})"
        )
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        path = f"{prefix}{name}"
        if name in skip:
            continue
        if name not in data:
            if f.default is not dataclasses.MISSING:
                continue
            raise ConfigError(source, path, "missing")
        value = data[name]
        kind = str(f.type)
        if name in nested:
            kwargs[name] = build_config(
                nested[name], value, source, f"{path}.", nested, signed, min_int, positive
            )
        elif kind == "str":
            if not isinstance(value, str) or not value:
                raise ConfigError(source, path, f"expected a non-empty string, got {value!r}")
            kwargs[name] = value
        elif kind == "bool":
            if not isinstance(value, bool):
                raise ConfigError(source, path, f"expected true or false, got {value!r}")
            kwargs[name] = value
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) or value < min_int:
                raise ConfigError(source, path, f"expected an integer >= {min_int}, got {value!r}")
            kwargs[name] = value
        elif kind.startswith("tuple["):
            n = kind.count("float")
            if not isinstance(value, list | tuple) or len(value) != n:
                raise ConfigError(source, path, f"expected a list of {n} numbers, got {value!r}")
            kwargs[name] = tuple(
                _number(v, source, f"{path}[{i}]", name in signed, name in positive)
                for i, v in enumerate(value)
            )
        else:
            kwargs[name] = _number(value, source, path, name in signed, name in positive)
    return kwargs


def require_positive(cfg: Any, names: Collection[str], source: str) -> None:
    """Raise a ConfigError naming the first of ``names`` (or tuple entry) that is not > 0.

    Prefer ``build_config(..., positive=names)``: it checks while reading, so a negative value
    gets the same "must be > 0" as zero (a check after reading comes too late for a negative one,
    which the reader refuses first with "must be >= 0")."""
    for name in names:
        value = getattr(cfg, name)
        for i, v in enumerate(value if isinstance(value, tuple) else (value,)):
            if v <= 0:
                where = f"{name}[{i}]" if isinstance(value, tuple) else name
                raise ConfigError(source, where, f"must be > 0, got {v!r}")


def asset_file(name_or_path: str | Path, file_name: str, what: str) -> Path:
    """A description file: a ``*.yaml`` path as given, or ``sim_assets/<name>/<file_name>``.

    Raises:
        ConfigError: an unknown name (listing the known ones) or a missing file.
    """
    p = Path(name_or_path)
    if p.suffix not in (".yaml", ".yml"):
        p = ASSETS_DIR / str(name_or_path) / file_name
        if not p.is_file():
            known = sorted(d.name for d in ASSETS_DIR.glob("*") if (d / file_name).is_file())
            raise ConfigError(str(name_or_path), what, f"unknown {what} (known: {', '.join(known)})")
    if not p.is_file():
        raise ConfigError(str(p), "<file>", "no such file")
    return p


def read_yaml(path: Path) -> Any:
    """The parsed YAML of ``path``; a syntax error names the file."""
    try:
        return yaml.safe_load(path.read_text())
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "<yaml>", f"not a text file ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigError(str(path), "<file>", exc.strerror or str(exc)) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), "<yaml>", f"not valid YAML: {exc}") from exc
