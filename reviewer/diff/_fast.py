"""Two helpers that keep the diff engine cheap to import and to run on every output.

**Compiled on first use.** Compiling the tokenizer's Unicode classes and the decline detector's
patterns costs tens of milliseconds, which ``reviewer diff a b`` of two small ASCII files never
needs. A name bound with
:func:`on_first_use` holds a stand-in; the first call or attribute access builds the real value
and puts it in the module in the stand-in's place, so later calls go straight to the compiled
pattern (no indirection is left on the hot path).

**Built without ``__init__``.** A ``@dataclass(frozen=True, slots=True)`` ``__init__`` sets each
field through ``object.__setattr__``: 2-4 µs for ``OutputSignals``, made once per output.
:func:`frozen_builder` gives a positional constructor that stores the fields through their slot
descriptors instead (about 2× cheaper); the instance is the same (equal, hashable, frozen).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


class _OnFirstUse:
    __slots__ = ("_build", "_name", "_namespace")

    def __init__(self, namespace: dict[str, Any], name: str, build: Callable[[], Any]) -> None:
        self._namespace = namespace
        self._name = name
        self._build = build

    def _resolve(self) -> Any:
        value = self._build()
        self._namespace[self._name] = value  # idempotent: two threads racing build equal values
        return value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._resolve()(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._resolve(), attr)

    def __repr__(self) -> str:
        return f"<{self._name}: built on first use>"


def on_first_use(namespace: dict[str, Any], name: str, build: Callable[[], Any]) -> Any:
    """A stand-in for ``namespace[name]`` that becomes ``build()`` on first use. ``name`` must be
    the global it is assigned to, and callers must look it up at call time (a global read inside
    a function), not keep a reference taken at import."""
    return _OnFirstUse(namespace, name, build)


def compiled(namespace: dict[str, Any], name: str, pattern: str, flags: int = 0) -> Any:
    """:func:`on_first_use` of ``re.compile(pattern, flags)``."""
    return _OnFirstUse(namespace, name, lambda: re.compile(pattern, flags))


def frozen_builder(cls: type[T]) -> Callable[..., T]:
    """A constructor of the slotted frozen dataclass ``cls`` taking every field positionally, in
    field order (no defaults, no ``__post_init__``): ``build(*values)`` equals ``cls(*values)``.
    Generated straight-line, as dataclasses generates ``__init__`` (a loop costs a third more)."""
    if "__post_init__" in vars(cls):
        raise TypeError(f"{cls.__name__} has a __post_init__")
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    scope.update({f"_set_{n}": vars(cls)[n].__set__ for n in names})  # the slot's member descriptor
    body = "".join(f"    _set_{n}(obj, {n})\n" for n in names)
    exec(f"def build_{cls.__name__}({', '.join(names)}):\n    obj = _new(_cls)\n{body}    return obj\n", scope)
    return scope[f"build_{cls.__name__}"]
