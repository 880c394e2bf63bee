"""How unittest tests and their class/module fixtures are named in records."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
import unittest

from ..roots import TestIdentity


def test_identity(test: unittest.TestCase, framework: str) -> TestIdentity:
    """``id`` as unittest prints it, ``name`` the test method, ``file`` the class's real file."""
    cls: type = type(test)
    test_id = test.id()
    method = getattr(test, "_testMethodName", None) or test_id.rpartition(".")[2]
    return TestIdentity(
        id=test_id,
        name=method,
        class_name=cls.__qualname__,
        module=cls.__module__,
        file=_class_file(cls),
        framework=framework,
        function=f"{cls.__module__}.{cls.__qualname__}.{method}",
        line=_first_line(cls, method),
    )


def class_fixture_identity(cls: type, fixture: str, framework: str) -> TestIdentity:
    """``setUpClass`` / ``tearDownClass`` of ``cls``: ``pkg.module.Class.setUpClass``."""
    return TestIdentity(
        id=f"{cls.__module__}.{cls.__qualname__}.{fixture}",
        name=fixture,
        class_name=cls.__qualname__,
        module=cls.__module__,
        file=_class_file(cls),
        framework=framework,
        function=f"{cls.__module__}.{cls.__qualname__}.{fixture}",
    )


def module_fixture_identity(module: str, fixture: str, framework: str) -> TestIdentity:
    """``setUpModule`` / ``tearDownModule`` of ``module``: ``pkg.module.setUpModule``."""
    return TestIdentity(
        id=f"{module}.{fixture}",
        name=fixture,
        class_name=None,
        module=module,
        file=_module_file(module),
        framework=framework,
        function=f"{module}.{fixture}",
    )


def reported_fixture_identity(description: str, framework: str) -> TestIdentity:
    """A fixture known only from unittest's error report: ``setUpClass (pkg.module.Class)``."""
    fixture, _, owner = description.partition(" ")
    return TestIdentity(
        id=description,
        name=fixture or description,
        class_name=None,
        module=owner.strip("()") or None,
        file=None,
        framework=framework,
        function=fixture or None,
    )


def relative_file(path: str) -> str:
    """A source path relative to the working directory, with ``/`` separators."""
    real = os.path.realpath(path)
    with contextlib.suppress(ValueError):  # on another drive (Windows) it stays absolute
        real = os.path.relpath(real, os.path.realpath(os.getcwd()))
    return real.replace(os.sep, "/")


@functools.lru_cache(maxsize=4096)
def _class_file(cls: type) -> str | None:
    try:
        path = inspect.getsourcefile(cls)
    except (TypeError, OSError):  # built in, or defined where no source file exists
        return None
    return relative_file(path) if path else None


@functools.lru_cache(maxsize=1024)
def _module_file(name: str) -> str | None:
    module = sys.modules.get(name)
    if module is None:
        return None
    try:
        path = inspect.getsourcefile(module)
    except (TypeError, OSError):
        return None
    return relative_file(path) if path else None


@functools.lru_cache(maxsize=4096)
def _first_line(cls: type, method: str) -> int | None:
    function = getattr(cls, method, None)
    if callable(function):
        function = inspect.unwrap(function)  # past decorators such as @mock.patch
    code = getattr(function, "__code__", None)
    return code.co_firstlineno if code is not None else None
