"""What names a pytest item, or a shared fixture's set-up, in its record."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from ..roots import TestIdentity


def item_identity(item: pytest.Item) -> TestIdentity:
    """The node id; ``file`` is pytest's own location, relative to the rootdir."""
    path, line, _ = item.location
    cls = getattr(item, "cls", None)
    module = getattr(item, "module", None)
    return TestIdentity(
        id=item.nodeid,
        name=item.name,
        class_name=cls.__qualname__ if cls is not None else None,
        module=module.__name__ if module is not None else None,
        file=path.replace("\\", "/"),
        framework="pytest",
        function=_qualified(module, cls, getattr(item, "originalname", item.name)),
        line=line + 1 if line is not None else None,
    )


def fixture_identity(
    fixturedef: pytest.FixtureDef[Any], phase: str, rootpath: Path
) -> TestIdentity:
    """``<where it is defined>::<fixture>[<scope> <phase>]``, e.g. ``tests::db[session setup]``."""
    code = getattr(fixturedef.func, "__code__", None)
    file = _fixture_file(code.co_filename, rootpath) if code is not None else None
    name = f"{fixturedef.argname}[{fixturedef.scope} {phase}]"
    return TestIdentity(
        id=f"{fixturedef.baseid}::{name}" if fixturedef.baseid else name,
        name=name,
        class_name=None,
        module=getattr(fixturedef.func, "__module__", None),
        file=file,
        framework="pytest",
        function=_qualified_function(fixturedef.func) or fixturedef.argname,
        line=code.co_firstlineno if code is not None else None,
    )


def _qualified(module: Any, cls: type | None, function: str) -> str:
    """``code.function.name`` as the semantic conventions ask: ``pkg.module.Class.test_x``."""
    owner = cls.__qualname__ if cls is not None else None
    parts = (getattr(module, "__name__", None), owner, function)
    return ".".join(part for part in parts if part)


def _qualified_function(function: object) -> str | None:
    qualname = getattr(function, "__qualname__", None)
    if not isinstance(qualname, str):
        return None
    module = getattr(function, "__module__", None)
    return f"{module}.{qualname}" if isinstance(module, str) else qualname


def _fixture_file(filename: str, rootpath: Path) -> str | None:
    """Relative to the rootdir; a plugin's fixture outside it (site-packages) relative to the
    ``sys.path`` entry it was imported from (``pytest_django/fixtures.py``); else None."""
    # Asked for every shared fixture around every test (pytest-django's class fixture runs for
    # each one): the same few answers, each worth a dozen path operations.
    return _fixture_file_under(filename, rootpath, tuple(sys.path))


@functools.lru_cache(maxsize=1024)
def _fixture_file_under(filename: str, rootpath: Path, sys_path: tuple[str, ...]) -> str | None:
    path = os.path.abspath(filename)
    relative = os.path.relpath(path, rootpath) if os.path.isabs(path) else path
    if not relative.startswith(os.pardir):
        return relative.replace(os.sep, "/")
    entries = [os.path.abspath(entry) for entry in sys_path if entry]
    inside = [e for e in entries if path.startswith(e.rstrip(os.sep) + os.sep)]
    if not inside:
        return None
    return os.path.relpath(path, max(inside, key=len)).replace(os.sep, "/")
