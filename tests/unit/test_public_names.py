"""Names say what a thing is, once: no two public classes or functions of the same name are
defined in different modules of voicewire (``ChatRequest`` in the harness and the simulator,
``write_json`` in two writers... were different things under one name)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict

PACKAGES = (
    "voicewire.reference",
    "voicewire.simulators",
    "voicewire.harness",
    "voicewire.suites",
)

# What a plug-in interface asks every part module to define, one meaning by design: each part
# of the Inworld simulator (simulators/inworld/__init__.py) exposes add_routes(router, prefix).
PART_INTERFACE = frozenset({"add_routes"})


def _modules() -> list[str]:
    names = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            # Suite files are pytest modules: test functions are not an API.
            if not info.name.rsplit(".", 1)[-1].startswith("test_"):
                names.append(info.name)
    return names


def test_no_public_class_or_function_name_is_defined_twice():
    defined: defaultdict[str, list[str]] = defaultdict(list)
    for module_name in _modules():
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if name.startswith("_") or name in PART_INTERFACE:
                continue
            if not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            if getattr(value, "__module__", None) == module_name:
                defined[name].append(module_name)
    twice = {name: modules for name, modules in defined.items() if len(modules) > 1}
    assert not twice, f"public names defined in several modules: {twice}"
