"""Fails when a public item of the pcstate Python package has no docstring.

Public: every name in a module's __all__ (or not starting with '_'), its public methods and
properties, for pcstate and each of its public submodules. usage: check_python_docs.py
"""
import importlib
import inspect
import pkgutil
import sys

import pcstate

missing = []
checked = 0


def owned(obj: object, module: str) -> bool:
    return getattr(obj, "__module__", module).startswith("pcstate")


def check(name: str, obj: object) -> None:
    global checked
    checked += 1
    if not (inspect.getdoc(obj) or "").strip():
        missing.append(name)


modules = [pcstate] + [
    importlib.import_module(f"pcstate.{m.name}")
    for m in pkgutil.iter_modules(pcstate.__path__)
    if not m.name.startswith("_") and m.name not in ("prometheus", "aiortc")
]
for optional in ("prometheus", "aiortc"):
    try:
        modules.append(importlib.import_module(f"pcstate.{optional}"))
    except ImportError as e:  # an optional dependency is missing: say so, check the rest
        print(f"check_python_docs: pcstate.{optional} not checked ({e})", file=sys.stderr)
for mod in modules:
    check(mod.__name__, mod)
    names = getattr(mod, "__all__", [n for n in vars(mod) if not n.startswith("_")])
    for n in names:
        obj = getattr(mod, n)
        if inspect.ismodule(obj) or not owned(obj, mod.__name__):
            continue
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        check(f"{mod.__name__}.{n}", obj)
        if inspect.isclass(obj):
            for m, member in vars(obj).items():
                if m.startswith("_") or inspect.isclass(member):
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member) or isinstance(member, property):
                    check(f"{mod.__name__}.{n}.{m}", member)
if missing:
    print("check_python_docs: public items without a docstring:", *missing, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"docs: {checked} public Python items, each with a docstring")
