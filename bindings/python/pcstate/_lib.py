"""Finding and loading libpcstate, checking its version, declaring its functions (from _bindings).

Where the library is looked for: ``PCSTATE_LIBRARY`` alone when it is set; otherwise the
package's own ``libpcstate.so`` (what a wheel ships), a source checkout's ``target/release`` and
``target/debug``, then the system's (the SONAME, then ``ctypes.util.find_library``). ``C`` is the
library, loaded when the package is imported.
"""
import ctypes
import ctypes.util
import os
import re
from typing import List, Optional, Tuple

from ._bindings import FUNCTIONS

#: The C library version this binding is written for.
EXPECTED_VERSION = "0.1.0"

_MAJOR, _MINOR, _ = EXPECTED_VERSION.split(".")
#: The library's SONAME: while 0.x every minor release may break the ABI, so it names the minor.
SONAME = f"libpcstate.so.{_MAJOR}.{_MINOR}" if _MAJOR == "0" else f"libpcstate.so.{_MAJOR}"


def version_compatible(version: str) -> bool:
    """Whether a library of ``version`` has the ABI this binding needs: the same ABI series (major
    and, while 0.x, minor) and no older than ``EXPECTED_VERSION`` (which may add functions)."""
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if m is None:
        return False
    have = tuple(int(x) for x in m.groups())
    want = tuple(int(x) for x in EXPECTED_VERSION.split("."))
    series = 2 if want[0] == 0 else 1
    return have[:series] == want[:series] and have >= want


def _declare(lib: ctypes.CDLL) -> Optional[str]:
    """Checks the version first, then declares every function. None, or why ``lib`` is unusable."""
    try:
        version_fn = getattr(lib, "pcstate_version")
    except AttributeError:
        return "not libpcstate: it has no pcstate_version"
    version_fn.restype, version_fn.argtypes = FUNCTIONS["pcstate_version"]
    raw = version_fn()
    version = raw.decode(errors="replace") if isinstance(raw, bytes) else repr(raw)
    if not version_compatible(version):
        return (
            f"version {version}, but this binding needs {EXPECTED_VERSION} or a later "
            f"{EXPECTED_VERSION.rsplit('.', 1)[0]}.x; install matching versions"
        )
    missing = []
    for name, (restype, argtypes) in FUNCTIONS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        return f"version {version} but it lacks " + ", ".join(missing)
    return None


def _open(path: str) -> Tuple[Optional[ctypes.CDLL], str]:
    """The library at ``path`` (a path or a name for the dynamic loader), declared; or why not."""
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        return None, f"cannot be loaded: {e}"
    why = _declare(lib)
    if why is not None:
        return None, why
    return lib, ""


def candidates() -> List[str]:
    """The paths tried before the system's libraries, in order (``PCSTATE_LIBRARY`` alone if set)."""
    env = os.environ.get("PCSTATE_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    # A source checkout: bindings/python/pcstate -> the repository's target/.
    repo = os.path.normpath(os.path.join(here, "..", "..", ".."))
    return [os.path.join(here, "libpcstate.so")] + [
        os.path.join(repo, "target", profile, "libpcstate.so") for profile in ("release", "debug")
    ]


def load() -> ctypes.CDLL:
    """Loads the library from the first place that has a usable one (see the module docstring)
    and declares its functions; ImportError naming every place tried and why each failed."""
    tried = []
    for path in candidates():
        if not os.path.exists(path):
            tried.append(f"{path} (not found)")
            continue
        lib, why = _open(path)
        if lib is not None:
            return lib
        tried.append(f"{path} ({why})")
    env = os.environ.get("PCSTATE_LIBRARY")
    if env:
        raise ImportError(
            f"pcstate: PCSTATE_LIBRARY={env} is not a usable libpcstate: {tried[0]}. Point it at "
            "the libpcstate.so that `make build` makes (target/release/libpcstate.so), or unset it."
        )
    lib, why = _open(SONAME)
    if lib is not None:
        return lib
    tried.append(f"the system's {SONAME} ({why})")
    found = ctypes.util.find_library("pcstate")
    if not found:
        tried.append("the system's libraries (ctypes.util.find_library('pcstate'): none)")
    elif found == SONAME:
        tried.append(f"ctypes.util.find_library('pcstate'): {found}, tried above")
    else:
        lib, why = _open(found)
        if lib is not None:
            return lib
        tried.append(f"the system's {found}, from ctypes.util.find_library('pcstate') ({why})")
    raise ImportError(
        "pcstate: cannot load libpcstate. Build it with `make build` (or cargo build --release), "
        "install the package with `pip install ./bindings/python`, or set PCSTATE_LIBRARY to its "
        "path. Tried:\n  " + "\n  ".join(tried)
    )


def library_path(lib: Optional[ctypes.CDLL]) -> str:
    """The path (or name) ``lib`` was loaded from."""
    return getattr(lib, "_name", "?")


#: The loaded library, every function declared.
C = load()
