"""Type checks of configuration dataclasses against their annotations, with clear messages."""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any


def _matches(value: Any, annotation: str) -> bool:
    options = [a.strip() for a in annotation.split("|")]
    for option in options:
        if option == "None" and value is None:
            return True
        if option == "bool" and isinstance(value, bool):
            return True
        if option == "int" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if option == "float" and isinstance(value, int | float) and not isinstance(value, bool):
            return math.isfinite(value)  # NaN and infinity are never a setting
        if option == "str" and isinstance(value, str):
            return True
        if option.startswith("tuple[int") and isinstance(value, tuple | list):
            return all(_matches(v, "int") for v in value)
        if option.startswith("dict") and isinstance(value, dict):
            return True
    return False


def _expected(annotation: str, value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value) and "float" in annotation:
        return "a finite number"
    return f"of type {annotation}"


def check_field_types(instance: Any, where: str) -> None:
    """Raise ``ValueError`` naming the first field whose value does not fit its annotation."""
    for f in fields(instance):
        value = getattr(instance, f.name)
        annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        if annotation and not _matches(value, annotation):
            expected = _expected(annotation, value)
            raise ValueError(f"{where} {f.name!r} must be {expected}, got {value!r}")


def check_params(owner: str, values: dict[str, Any], types: dict[str, str]) -> None:
    """Check keyword parameters of a model against ``{name: annotation}``; name what is wrong."""
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise ValueError(f"{owner}: unknown parameter {unknown[0]!r}; parameters: {sorted(types)}")
    for name, value in values.items():
        if not _matches(value, types[name]):
            expected = _expected(types[name], value)
            raise ValueError(f"{owner} parameter {name!r} must be {expected}, got {value!r}")


def given_params(local_names: dict[str, Any]) -> dict[str, Any]:
    """The constructor arguments in ``locals()``, without ``self``."""
    return {k: v for k, v in local_names.items() if k not in ("self", "__class__")}
