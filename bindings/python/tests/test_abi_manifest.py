"""The binding's ABI tables (pcstate._bindings: every function's argtypes and restype, every
constant, every ctypes structure) agree with include/pcstate.abi.json, the language-neutral
manifest of the C ABI: one check, so that a mismatch cannot ship. Skipped while the manifest does
not exist; PCSTATE_ABI_MANIFEST names another file. A manifest read from the header and gcc
exercises the check (and each kind of mismatch it must catch) meanwhile."""
import copy
import ctypes
import json
import os
import re
import shutil
import subprocess
from typing import Any, Dict, List

import pytest

from pcstate import _bindings as B
from pcstate import _lib

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
HEADER = os.path.join(REPO, "include", "pcstate.h")
ENV = "PCSTATE_ABI_MANIFEST"

# ---- C type spellings -> ctypes ------------------------------------------------------------------

_SCALARS: Dict[str, Any] = {
    "void": None,
    "bool": ctypes.c_bool,
    "char": ctypes.c_char,
    "int": ctypes.c_int,
    "unsigned int": ctypes.c_uint,
    "size_t": ctypes.c_size_t,
    "int8_t": ctypes.c_int8,
    "int16_t": ctypes.c_int16,
    "int32_t": ctypes.c_int32,
    "int64_t": ctypes.c_int64,
    "uint8_t": ctypes.c_uint8,
    "uint16_t": ctypes.c_uint16,
    "uint32_t": ctypes.c_uint32,
    "uint64_t": ctypes.c_uint64,
}

#: The header's own type names, as the binding declares them: the handles, the result, the
#: callbacks, and each enum's typedef (uint32_t where C is older than C23).
_NAMED: Dict[str, Any] = {
    "pcstate_peer": B.pcstate_peer,
    "pcstate_transport": B.pcstate_transport,
    "pcstate_result": B.pcstate_result,
    "pcstate_event_cb": B.EVENT_CB,
    "pcstate_free_cb": B.FREE_CB,
}
for _enum in B.ENUMS:
    _NAMED.setdefault(_enum, ctypes.c_uint32)


class UnknownType(Exception):
    pass


def _typedef_target(value: Any) -> Any:
    """A manifest typedef's underlying type: a spelling, or a dict with one."""
    if isinstance(value, dict):
        return value.get("type", value.get("underlying"))
    return value


class Types:
    """Maps the manifest's C type spellings (as in the header) to ctypes types."""

    def __init__(self, typedefs: Dict[str, Any]) -> None:
        self.typedefs = typedefs

    def __call__(self, spelling: str) -> Any:
        s = " ".join(spelling.replace("*", " * ").split())
        array = re.fullmatch(r"(.*?)\s*\[\s*(\d+)\s*\]", s)
        if array:
            return self(array.group(1)) * int(array.group(2))
        if s.endswith("*"):
            base = s[:-1].strip()
            core = " ".join(w for w in base.split() if w != "const")
            if core == "char":
                return ctypes.c_char_p
            if core == "void":
                return ctypes.c_void_p
            return ctypes.POINTER(self(base))
        s = " ".join(w for w in s.split() if w != "const")
        if s.startswith("struct "):
            s = s[len("struct ") :]
            if s in B.STRUCTS:
                return B.STRUCTS[s]
            raise UnknownType(f"struct {s}")
        if s in _SCALARS:
            return _SCALARS[s]
        if s in _NAMED:
            return _NAMED[s]
        if s in B.STRUCTS:  # the typedef of a struct
            return B.STRUCTS[s]
        target = _typedef_target(self.typedefs.get(s))
        if isinstance(target, str) and target != spelling:
            return self(target)
        raise UnknownType(s)


#: ctypes type -> its C spelling, for messages (the fixed-width names win: listed last).
_SPELLING = {v: k for k, v in _SCALARS.items() if v is not None}


def _name(t: Any) -> str:
    return "void" if t is None else _SPELLING.get(t) or getattr(t, "__name__", repr(t))


def _param_type(text: str) -> str:
    """A parameter's type, without its name if it has one (``void *user_data`` -> ``void *``)."""
    text = " ".join(text.split())
    m = re.fullmatch(r"(.*?[\s*])(\w+)", text)
    if m and m.group(1).strip() not in ("", "struct", "const", "unsigned", "signed"):
        return m.group(1).strip()
    return text


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, type) and isinstance(b, type) and issubclass(a, ctypes.Array) and issubclass(b, ctypes.Array):
        return a._length_ == b._length_ and _same(a._type_, b._type_)
    return False


# ---- the check ------------------------------------------------------------------------------------


def _by_name(items: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    return {item["name"]: item for item in items}


def _check_callback(name: str, value: Any, types: Types, problems: List[str]) -> None:
    """A callback typedef, when the manifest spells its signature: ``void (*)(void *, ...)`` or
    ``{"returns": ..., "params": [...]}``."""
    cb = _NAMED[name]
    if isinstance(value, dict) and "params" in value:
        ret, params = value.get("returns", "void"), [p["type"] if isinstance(p, dict) else p for p in value["params"]]
    else:
        m = re.fullmatch(r"\s*(.+?)\s*\(\s*\*\s*\w*\s*\)\s*\((.*)\)\s*", str(_typedef_target(value)))
        if m is None:
            return  # a spelling this check does not read: the functions using it are checked
        ret = m.group(1)
        params = [_param_type(p) for p in m.group(2).split(",") if p.strip() not in ("", "void")]
    try:
        want = (types(ret), [types(p) for p in params])
    except UnknownType as e:
        problems.append(f"typedef {name}: unknown type {e}")
        return
    if not (_same(want[0], cb._restype_) and len(want[1]) == len(cb._argtypes_) and all(map(_same, want[1], cb._argtypes_))):
        problems.append(f"typedef {name}: the manifest has {value!r}, the binding {cb._restype_} {cb._argtypes_}")


def check_manifest(manifest: Dict[str, Any]) -> List[str]:
    """Every disagreement between ``manifest`` and pcstate._bindings, one line each."""
    problems: List[str] = []
    typedefs = manifest.get("typedefs") or {}
    types = Types(typedefs)

    if manifest.get("version") != _lib.EXPECTED_VERSION:
        problems.append(f"version: manifest {manifest.get('version')!r}, binding {_lib.EXPECTED_VERSION!r}")

    # Typedefs the binding names itself.
    for name, value in typedefs.items():
        if name in ("pcstate_event_cb", "pcstate_free_cb"):
            _check_callback(name, value, types, problems)
        elif name in _NAMED or name in B.STRUCTS:
            target = _typedef_target(value)
            if not isinstance(target, str):
                continue
            try:
                have = types(target)
            except UnknownType as e:
                problems.append(f"typedef {name}: unknown type {e}")
                continue
            want = B.STRUCTS.get(name, _NAMED.get(name))
            if not _same(have, want):
                problems.append(f"typedef {name}: manifest {target!r}, binding {_name(want)}")

    # Functions.
    functions = _by_name(manifest.get("functions", []))
    for name in sorted(set(B.FUNCTIONS) - set(functions)):
        problems.append(f"function {name}: in the binding, not in the manifest")
    for name, fn in sorted(functions.items()):
        if name not in B.FUNCTIONS:
            problems.append(f"function {name}: in the manifest, not declared by the binding")
            continue
        restype, argtypes = B.FUNCTIONS[name]
        try:
            want_ret = types(fn.get("returns", "void"))
            want_args = [types(p["type"]) for p in fn.get("params", [])]
        except UnknownType as e:
            problems.append(f"function {name}: unknown type {e}")
            continue
        if not _same(want_ret, restype):
            problems.append(f"function {name}: returns {fn.get('returns')!r}, the binding's restype is {_name(restype)}")
        if len(want_args) != len(argtypes):
            problems.append(f"function {name}: {len(want_args)} params in the manifest, {len(argtypes)} argtypes")
            continue
        for i, (p, want, have) in enumerate(zip(fn.get("params", []), want_args, argtypes)):
            if not _same(want, have):
                problems.append(f"function {name}: param {i} {p.get('name', '')} is {p['type']!r}, the binding's argtype is {_name(have)}")

    # Constants: every integer constant of the header (the version's from _lib).
    have_constants = B.constants()
    for part, value in zip(("MAJOR", "MINOR", "PATCH"), _lib.EXPECTED_VERSION.split(".")):
        have_constants[f"PCSTATE_VERSION_{part}"] = int(value)
    constants = {c["name"]: c["value"] for c in manifest.get("constants", [])}
    for name in sorted(set(have_constants) | set(constants)):
        if name not in constants:
            problems.append(f"constant {name}: in the binding, not in the manifest")
        elif name not in have_constants:
            problems.append(f"constant {name}: in the manifest, not in the binding")
        elif constants[name] != have_constants[name]:
            problems.append(f"constant {name}: manifest {constants[name]}, binding {have_constants[name]}")

    # Enums, when the manifest groups constants by enum: the binding's groups are the same.
    enums = manifest.get("enums") or {}
    for enum, members in B.ENUMS.items():
        if enums and enum not in enums:
            problems.append(f"enum {enum}: in the binding, not in the manifest")
            continue
        listed = enums.get(enum)
        if isinstance(listed, dict) and isinstance(listed.get("members", listed.get("values")), (list, dict)):
            listed = listed.get("members", listed.get("values"))
        if listed is None:
            continue
        if isinstance(listed, list) and all(isinstance(m, str) for m in listed):
            got_values = {m: constants.get(m) for m in listed}  # member names; values in "constants"
        else:
            got = _by_name(listed) if isinstance(listed, list) else {k: {"value": v} for k, v in listed.items()}
            got_values = {k: v["value"] for k, v in got.items()}
        want_values = {B.c_name(enum, m): v for m, v in members.items()}
        if got_values != want_values:
            problems.append(f"enum {enum}: manifest {got_values}, binding {want_values}")

    # Structs: size, field names in order, offsets and types.
    structs = _by_name(manifest.get("structs", []))
    for name in sorted(set(B.STRUCTS) - set(structs)):
        problems.append(f"struct {name}: in the binding, not in the manifest")
    for name, st in sorted(structs.items()):
        cls = B.STRUCTS.get(name)
        if cls is None:
            problems.append(f"struct {name}: in the manifest, not in the binding")
            continue
        if st.get("size") != ctypes.sizeof(cls):
            problems.append(f"struct {name}: size {st.get('size')} in the manifest, {ctypes.sizeof(cls)} in the binding")
        fields = st.get("fields", [])
        ours = list(cls._fields_)
        if [f["name"] for f in fields] != [f for f, _ in ours]:
            problems.append(f"struct {name}: fields {[f['name'] for f in fields]} in the manifest, {[f for f, _ in ours]} in the binding")
            continue
        for f, (field, ftype) in zip(fields, ours):
            offset = getattr(cls, field).offset
            if f.get("offset") != offset:
                problems.append(f"struct {name}.{field}: offset {f.get('offset')} in the manifest, {offset} in the binding")
            try:
                want = types(f["type"])
            except UnknownType as e:
                problems.append(f"struct {name}.{field}: unknown type {e}")
                continue
            if not _same(want, ftype):
                problems.append(f"struct {name}.{field}: {f['type']!r} in the manifest, {_name(ftype)} in the binding")
    return problems


# ---- the manifest -------------------------------------------------------------------------------


def _manifest_path() -> str:
    return os.environ.get(ENV) or os.path.join(REPO, "include", "pcstate.abi.json")


def test_bindings_match_the_abi_manifest():
    path = _manifest_path()
    if not os.path.exists(path):
        if os.environ.get(ENV):
            pytest.fail(f"{ENV}={path}: no such file")
        pytest.skip(f"no ABI manifest at {path} (generated with the header; set {ENV} to use another)")
    with open(path) as f:
        manifest = json.load(f)
    assert manifest.get("functions") and manifest.get("constants") and manifest.get("structs"), path
    problems = check_manifest(manifest)
    assert not problems, f"{path} and pcstate/_bindings.py disagree:\n  " + "\n  ".join(problems)


# ---- the check, exercised on a manifest read from the header and gcc -----------------------------


def _header() -> str:
    with open(HEADER) as f:
        return re.sub(r"/\*.*?\*/|//[^\n]*", "", f.read(), flags=re.S)


def _define_value(text: str) -> int:
    if text.strip() == "UINT32_MAX":
        return 0xFFFFFFFF
    m = re.fullmatch(r"\(?\s*(\d+)\s*(?:<<\s*(\d+)\s*)?\)?", text.strip())
    assert m, text
    return int(m.group(1)) << int(m.group(2) or 0)


def _param(text: str) -> Dict[str, str]:
    text = " ".join(text.split())
    return {"name": text.split()[-1].lstrip("*"), "type": _param_type(text)}


def manifest_from_header(tmp_path) -> Dict[str, Any]:
    """What the generator of include/pcstate.abi.json writes, read from the header (functions,
    constants, enums, typedefs, struct fields) and gcc (sizes and offsets)."""
    text = _header()
    functions = []
    for m in re.finditer(r"^([a-z_0-9 ]+?\**)\s*\b(pcstate_\w+)\(([^)]*)\);", text, flags=re.M):
        args = m.group(3).strip()
        params = [] if args == "void" else [_param(a) for a in args.split(",")]
        functions.append({"name": m.group(2), "returns": " ".join(m.group(1).split()), "params": params})
    enums = {}
    constants = []
    for m in re.finditer(r"\benum (pcstate_\w+)[^{;]*\{([^}]*)\}", text):
        members = {k: int(v) for k, v in re.findall(r"(PCSTATE_\w+)\s*=\s*(\d+)", m.group(2))}
        enums[m.group(1)] = members
        constants += [{"name": k, "value": v} for k, v in members.items()]
    for name, value in re.findall(r"#define (PCSTATE_\w+) ([^\n]+)", text):
        constants.append({"name": name, "value": _define_value(value)})
    typedefs = dict((n, t) for t, n in re.findall(r"typedef (uint\d+_t) (pcstate_\w+);", text))
    for m in re.finditer(r"typedef (\w+) \(\*(pcstate_\w+)\)\(([^)]*)\);", text):
        typedefs[m.group(2)] = f"{m.group(1)} (*)({m.group(3)})"  # as the header spells it
    structs = []
    for m in re.finditer(r"struct (pcstate_\w+) \{([^}]*)\}", text):
        fields = []
        for line in m.group(2).split(";"):
            if line.strip():
                f = re.fullmatch(r"(.+?)\s+(\w+)(\[\d+\])?", " ".join(line.split()))
                assert f, line
                fields.append({"name": f.group(2), "type": f.group(1) + (f.group(3) or "")})
        structs.append({"name": m.group(1), "fields": fields})
    # Sizes and offsets from gcc.
    lines = []
    for st in structs:
        lines.append(f'printf("{st["name"]} %zu\\n", sizeof(struct {st["name"]}));')
        for f in st["fields"]:
            lines.append(f'printf("{st["name"]}.{f["name"]} %zu\\n", offsetof(struct {st["name"]}, {f["name"]}));')
    src = tmp_path / "layout.c"
    src.write_text(
        '#include <stddef.h>\n#include <stdio.h>\n#include "pcstate.h"\nint main(void) {\n'
        + "\n".join(lines)
        + "\nreturn 0;\n}\n"
    )
    exe = tmp_path / "layout"
    subprocess.run(["gcc", "-std=c11", "-I", os.path.dirname(HEADER), "-o", str(exe), str(src)], check=True, timeout=60)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True, timeout=30).stdout
    layout = {k: int(v) for k, v in (line.split() for line in out.splitlines())}
    for st in structs:
        st["size"] = layout[st["name"]]
        for f in st["fields"]:
            f["offset"] = layout[f"{st['name']}.{f['name']}"]
    version = ".".join(str(c["value"]) for c in constants if c["name"].startswith("PCSTATE_VERSION_"))
    return {
        "version": version,
        "functions": functions,
        "constants": constants,
        "structs": structs,
        "typedefs": typedefs,
        "enums": enums,
    }


def _mutated(manifest, where, change):
    m = copy.deepcopy(manifest)
    change(_by_name(m[where]))
    return m


def test_the_check_passes_the_header_and_catches_each_kind_of_mismatch(tmp_path):
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to read the C layout")
    manifest = manifest_from_header(tmp_path)
    assert len(manifest["functions"]) == len(B.FUNCTIONS) and len(manifest["structs"]) == len(B.STRUCTS)
    assert check_manifest(manifest) == []

    def param_type(fns):
        fns["pcstate_peer_tick"]["params"][1]["type"] = "uint32_t"

    def returns(fns):
        fns["pcstate_now_ns"]["returns"] = "uint32_t"

    def missing_function(fns):
        fns["pcstate_peer_new"]["name"] = "pcstate_peer_new2"

    def constant(cs):
        cs["PCSTATE_RESULT_NO_MEMORY"]["value"] = 12

    def new_constant(cs):
        cs["PCSTATE_RESULT_OK"]["name"] = "PCSTATE_RESULT_FINE"

    def size(ss):
        ss["pcstate_event"]["size"] = 48

    def offset(ss):
        ss["pcstate_peer_stats"]["fields"][3]["offset"] += 4

    def array(ss):
        ss["pcstate_global_stats"]["fields"][1]["type"] = "uint64_t[7]"

    for where, change, expected in [
        ("functions", param_type, "function pcstate_peer_tick: param 1 now_ns is 'uint32_t'"),
        ("functions", returns, "function pcstate_now_ns: returns 'uint32_t'"),
        ("functions", missing_function, "function pcstate_peer_new: in the binding, not in the manifest"),
        ("constants", constant, "constant PCSTATE_RESULT_NO_MEMORY: manifest 12, binding 11"),
        ("constants", new_constant, "constant PCSTATE_RESULT_FINE: in the manifest, not in the binding"),
        ("structs", size, "struct pcstate_event: size 48 in the manifest, 40 in the binding"),
        ("structs", offset, "struct pcstate_peer_stats.entered_state: offset 68 in the manifest, 64"),
        ("structs", array, "struct pcstate_global_stats.peers_in_state: 'uint64_t[7]' in the manifest"),
    ]:
        problems = check_manifest(_mutated(manifest, where, change))
        assert any(p.startswith(expected) for p in problems), (expected, problems)

    wrong_typedef = copy.deepcopy(manifest)
    wrong_typedef["typedefs"]["pcstate_transport"] = "uint64_t"
    assert "typedef pcstate_transport: manifest 'uint64_t', binding uint32_t" in "\n".join(check_manifest(wrong_typedef))
    wrong_callback = copy.deepcopy(manifest)
    wrong_callback["typedefs"]["pcstate_free_cb"] = "void (*)(void *, void *)"
    assert any(p.startswith("typedef pcstate_free_cb") for p in check_manifest(wrong_callback))
