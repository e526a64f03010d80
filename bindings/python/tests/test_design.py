"""Tests of the binding's design: one constants table checked against the
header, the loader's order and errors, run-time checks that survive `python -O`, docstrings."""
import ast
import ctypes
import ctypes.util
import glob
import inspect
import os
import re
import shutil
import subprocess
import sys
import textwrap
import types

import pytest

import pcstate
from pcstate import _bindings, _lib

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
HEADER = os.path.join(REPO, "include", "pcstate.h")
SOURCES = sorted(glob.glob(os.path.join(os.path.dirname(pcstate.__file__), "*.py")))


def _header_text() -> str:
    with open(HEADER) as f:
        return re.sub(r"/\*.*?\*/|//[^\n]*", "", f.read(), flags=re.S)


def _header_enums() -> dict:
    """enum name -> {C constant: value} for every enum in the header."""
    enums = {}
    for m in re.finditer(r"\benum (pcstate_\w+)[^{;]*\{([^}]*)\}", _header_text()):
        enums[m.group(1)] = {k: int(v) for k, v in re.findall(r"(PCSTATE_\w+)\s*=\s*(\d+)", m.group(2))}
    return enums


# ---- one table, checked against the header ------------------------------------------------------


def test_constants_table_is_the_header():
    header = _header_enums()
    assert {"pcstate_result", "pcstate_profile", "pcstate_event_kind"} <= set(header)
    table = {
        enum: {_bindings.c_name(enum, name): value for name, value in members.items()}
        for enum, members in _bindings.ENUMS.items()
    }
    assert table == header


def _define_value(text: str) -> int:
    """The value of a numeric #define: ``1024``, ``(1 << 20)`` or ``UINT32_MAX``."""
    if text.strip() == "UINT32_MAX":
        return 0xFFFFFFFF
    m = re.fullmatch(r"\(?\s*(\d+)\s*(?:<<\s*(\d+)\s*)?\)?", text.strip())
    assert m, text
    return int(m.group(1)) << int(m.group(2) or 0)


def test_flags_and_limits_tables_are_the_header():
    defines = {
        name: _define_value(value)
        for name, value in re.findall(r"#define (PCSTATE_\w+) ([^\n]+)", _header_text())
        if not name.startswith("PCSTATE_VERSION_") and name != "PCSTATE_H"
    }
    table = {f"PCSTATE_FLAG_{k}": v for k, v in _bindings.FLAGS.items()}
    table.update({f"PCSTATE_{k}": v for k, v in _bindings.LIMITS.items()})
    table.update({f"PCSTATE_ICE_AGENT_{k}": v for k, v in _bindings.ICE_AGENTS.items()})
    table.update({f"PCSTATE_LIVENESS_PRESET_{k}": v for k, v in _bindings.LIVENESS_PRESETS.items()})
    table["PCSTATE_STATE_UNCHANGED"] = _bindings.STATE_UNCHANGED
    assert table == defines
    assert len(_bindings.FLAGS) >= 2
    # constants(), what the ABI manifest test compares, is every one of them, enums included.
    every = dict(defines)
    for members in _header_enums().values():
        every.update(members)
    assert _bindings.constants() == every


def test_header_version_is_the_binding_version():
    v = {k: v for k, v in re.findall(r"#define PCSTATE_VERSION_(MAJOR|MINOR|PATCH) (\d+)", _header_text())}
    assert f"{v['MAJOR']}.{v['MINOR']}.{v['PATCH']}" == _lib.EXPECTED_VERSION


def test_python_enums_are_the_table():
    for cls, enum in pcstate._states.ENUM_OF.items():
        table = _bindings.ENUMS[enum]
        assert [m.name for m in cls] == sorted(table, key=table.get), cls
        assert [m._to_c() for m in cls] == [table[m.name] for m in cls], cls
        for m in cls:
            assert cls._from_c(m._to_c()) is m
    assert set(pcstate._states.ENUM_OF.values()) == set(_bindings.ENUMS) - {"pcstate_result", "pcstate_event_kind"}


def test_every_error_result_has_its_exception():
    for name, code in _bindings.ENUMS["pcstate_result"].items():
        if name in ("OK", "EMPTY"):
            continue
        cls = pcstate._errors.ERRORS[code]
        assert issubclass(cls, pcstate.PcstateError) and cls is not pcstate.PcstateError, name
        assert cls.__name__ in pcstate.__all__, name
        assert cls(code).code == code
        assert str(cls(code)) == pcstate._c.pcstate_result_message(code).decode()
    assert len(set(pcstate._errors.ERRORS.values())) == len(pcstate._errors.ERRORS)


def test_every_event_kind_is_handled():
    for name, kind in _bindings.ENUMS["pcstate_event_kind"].items():
        assert kind in pcstate._events.KINDS, name
    assert [n for n, _ in pcstate._events.KINDS.values()] == [
        "iceconnectionstatechange",
        "connectionstatechange",
        "icegatheringstatechange",
        "overflow",
    ]


def test_event_kind_names_come_from_the_library():
    c = pcstate._c
    good = types.SimpleNamespace(pcstate_event_kind_name=c.pcstate_event_kind_name)
    assert pcstate._events.kinds(good) == pcstate._events.KINDS
    bad = types.SimpleNamespace(pcstate_event_kind_name=lambda k: None if k == 4 else b"x")
    with pytest.raises(ImportError, match="event kind 4"):
        pcstate._events.kinds(bad)


def test_unknown_profile_is_an_invalid_argument():
    for bad in ("w3c-2099", "", "W3C"):
        with pytest.raises(pcstate.InvalidArgumentError) as ei:
            pcstate.PeerConnection(profile=bad)
        assert ei.value.code == _bindings.ENUMS["pcstate_result"]["INVALID_ARGUMENT"]
        assert not isinstance(ei.value, pcstate.InvalidStateError)
        assert "w3c-literal" in str(ei.value)  # names the accepted values


# ---- run-time checks: ImportError, never assert -------------------------------------------------


def test_no_assert_statements_in_the_package():
    """`python -O` strips asserts: the checks that must hold at run time raise instead."""
    for path in SOURCES:
        with open(path) as f:
            tree = ast.parse(f.read(), filename=path)
        asserts = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Assert)]
        assert not asserts, f"{path}: assert on lines {asserts}"


def test_library_state_names_are_checked_at_run_time():
    c = pcstate._c
    good = types.SimpleNamespace(**{name: getattr(c, name) for name in _bindings.FUNCTIONS})
    pcstate._states.check_library(good)  # the real library passes

    def shifted(i):
        return c.pcstate_dtls_transport_state_name(i + 1)

    bad = types.SimpleNamespace(**dict(vars(good), pcstate_dtls_transport_state_name=shifted))
    with pytest.raises(ImportError, match="DtlsTransportState"):
        pcstate._states.check_library(bad)

    def longer(i):
        return b"extra" if i == len(pcstate.IceGatheringState) else c.pcstate_ice_gathering_state_name(i)

    bad = types.SimpleNamespace(**dict(vars(good), pcstate_ice_gathering_state_name=longer))
    with pytest.raises(ImportError, match="IceGatheringState"):
        pcstate._states.check_library(bad)


def test_import_under_python_O():
    r = subprocess.run(
        [sys.executable, "-O", "-c", "import pcstate; print(pcstate.PeerConnection().connection_state)"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0 and r.stdout.strip() == "new", r.stderr


# ---- the loader -----------------------------------------------------------------------------------


def _fake_library(tmp_path, version: str, name: str = "libfake.so") -> str:
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to build a fake library")
    src = tmp_path / "fake.c"
    src.write_text(f'const char *pcstate_version(void) {{ return "{version}"; }}\n')
    out = str(tmp_path / name)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", out, str(src)], check=True, timeout=60)
    return out


def _import(env_library, cwd=None, package_parent=None):
    env = dict(os.environ)
    env.pop("PCSTATE_LIBRARY", None)
    if env_library is not None:
        env["PCSTATE_LIBRARY"] = env_library
    parent = package_parent or os.path.dirname(os.path.dirname(os.path.abspath(pcstate.__file__)))
    env["PYTHONPATH"] = parent
    return subprocess.run(
        [sys.executable, "-c", "import pcstate; print(pcstate._lib.library_path(pcstate._c))"],
        cwd=cwd or parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_version_is_checked_before_the_functions_are_declared(tmp_path):
    lib = _fake_library(tmp_path, "9.9.9")
    r = _import(lib)
    assert r.returncode != 0
    assert re.search(r"^ImportError: pcstate", r.stderr, re.M), r.stderr
    assert "9.9.9" in r.stderr and _lib.EXPECTED_VERSION in r.stderr and lib in r.stderr, r.stderr
    assert "pcstate_peer_new" not in r.stderr and "AttributeError" not in r.stderr, r.stderr


def test_a_missing_function_is_an_import_error_naming_it(tmp_path):
    lib = _fake_library(tmp_path, _lib.EXPECTED_VERSION)
    r = _import(lib)
    assert r.returncode != 0
    assert re.search(r"^ImportError: pcstate", r.stderr, re.M), r.stderr
    assert "pcstate_peer_new" in r.stderr and "pcstate_peer_event_fd" in r.stderr and lib in r.stderr
    assert "AttributeError" not in r.stderr, r.stderr


def test_version_policy_minor_is_the_abi(tmp_path):
    major, minor, patch = (int(x) for x in _lib.EXPECTED_VERSION.split("."))
    assert _lib.version_compatible(f"{major}.{minor}.{patch}")
    assert _lib.version_compatible(f"{major}.{minor}.{patch + 1}")
    assert not _lib.version_compatible(f"{major}.{minor + 1}.0")
    assert not _lib.version_compatible(f"{major + 1}.{minor}.{patch}")
    assert not _lib.version_compatible("garbage")
    if patch > 0:
        assert not _lib.version_compatible(f"{major}.{minor}.{patch - 1}")


def _copy_package(dest):
    os.makedirs(dest)
    for f in SOURCES:
        shutil.copy(f, dest)


def _system_has_pcstate() -> bool:
    """Whether the dynamic loader finds a libpcstate by itself (asked in a fresh process: this
    one has loaded the library already, so its SONAME would resolve here)."""
    code = textwrap.dedent(
        f"""
        import ctypes, ctypes.util, sys
        try:
            ctypes.CDLL({_lib.SONAME!r})
        except OSError:
            sys.exit(1 if ctypes.util.find_library("pcstate") is None else 0)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PCSTATE_LIBRARY"}
    return subprocess.run([sys.executable, "-c", code], env=env, timeout=30).returncode == 0


def test_loader_order_and_every_place_tried(tmp_path):
    """Without PCSTATE_LIBRARY: the package's own library, a checkout's target/release and
    target/debug, then the system's (the SONAME, then find_library); each named when none loads."""
    if _system_has_pcstate():
        pytest.skip("a system libpcstate is installed: the search would find it")
    checkout = tmp_path / "checkout"
    pkg = checkout / "bindings" / "python" / "pcstate"
    _copy_package(str(pkg))
    r = _import(None, package_parent=str(pkg.parent))
    assert r.returncode != 0
    assert re.search(r"^ImportError: pcstate", r.stderr, re.M), r.stderr
    places = [
        str(pkg / "libpcstate.so"),
        str(checkout / "target" / "release" / "libpcstate.so"),
        str(checkout / "target" / "debug" / "libpcstate.so"),
        _lib.SONAME,
        "find_library",
    ]
    at = [r.stderr.find(p) for p in places]
    assert -1 not in at, (places, r.stderr)
    assert at == sorted(at), r.stderr

    built = pcstate._lib.library_path(pcstate._c)
    for profile in ("debug", "release"):
        dest = checkout / "target" / profile
        dest.mkdir(parents=True)
        shutil.copy(built, dest / "libpcstate.so")
        r = _import(None, package_parent=str(pkg.parent))
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == str(dest / "libpcstate.so")
    shutil.copy(built, pkg / "libpcstate.so")
    r = _import(None, package_parent=str(pkg.parent))
    assert r.stdout.strip() == str(pkg / "libpcstate.so"), r.stderr


def test_pcstate_library_is_the_only_place_tried(tmp_path):
    pkg = tmp_path / "pcstate"
    _copy_package(str(pkg))
    shutil.copy(pcstate._lib.library_path(pcstate._c), pkg / "libpcstate.so")  # would load
    missing = str(tmp_path / "nope.so")
    r = _import(missing, package_parent=str(tmp_path))
    assert r.returncode != 0
    assert missing in r.stderr and "not found" in r.stderr, r.stderr
    assert str(pkg / "libpcstate.so") not in r.stderr and "find_library" not in r.stderr, r.stderr
    r = _import(str(pkg / "libpcstate.so"), package_parent=str(tmp_path))
    assert r.returncode == 0 and r.stdout.strip() == str(pkg / "libpcstate.so"), r.stderr


# ---- docstrings ------------------------------------------------------------------------------------


def _public_items():
    for name in pcstate.__all__:
        obj = getattr(pcstate, name)
        if name == "__version__":
            continue
        yield name, obj
        if inspect.isclass(obj):
            seen = set()
            # Its own attributes and those it inherits from the package's bases (free() ...).
            for klass in obj.__mro__:
                if not klass.__module__.startswith("pcstate"):
                    continue
                for attr, value in vars(klass).items():
                    if attr.startswith("_") or attr in seen:
                        continue
                    seen.add(attr)
                    if isinstance(value, obj):  # an enum member
                        continue
                    yield f"{name}.{attr}", value


def test_every_public_item_has_a_docstring():
    missing = []
    count = 0
    for name, obj in _public_items():
        count += 1
        if inspect.isclass(obj):
            doc = obj.__dict__.get("__doc__")
        elif isinstance(obj, (classmethod, staticmethod)):
            doc = obj.__func__.__doc__
        else:
            doc = getattr(obj, "__doc__", None)
        if not doc or not doc.strip() or doc.startswith("Alias for field number"):
            missing.append(name)
    assert count > 44
    assert not missing, f"no docstring: {missing}"
