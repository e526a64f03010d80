"""Checks the wheel(s) and sdist in a directory and reports the manylinux tag each wheel qualifies for.

usage: check_wheel.py DIR   (run with the venv that has auditwheel and pyelftools)

A wheel must be platform-tagged (not none-any), hold pcstate/libpcstate.so stripped (no symbol
table, no debug sections) with the SONAME of the ABI policy, carry LICENSE and the PEP 639 license
metadata; the sdist must carry the crate. Exits non-zero on the first violation.
"""
import io
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

SDIST_CRATE = ["Cargo.toml", "Cargo.lock", "build.rs", "cbindgen.toml", "LICENSE", "src/lib.rs",
               "src/ffi.rs", "include/pcstate.h"]


def fail(msg: str) -> None:
    print(f"check_wheel: FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def policy_soname(version: str) -> str:
    major, minor = version.split(".")[:2]
    return f"libpcstate.so.{'0.' + minor if major == '0' else major}"


def check_library(data: bytes, version: str) -> str:
    elf = ELFFile(io.BytesIO(data))
    sections = [s.name for s in elf.iter_sections()]
    debug = [s for s in sections if s.startswith((".debug", ".zdebug"))]
    if debug or ".symtab" in sections:
        fail(f"libpcstate.so is not stripped: {debug + ['.symtab'] * ('.symtab' in sections)}")
    sonames = [t.soname for s in elf.iter_sections() if isinstance(s, DynamicSection)
               for t in s.iter_tags() if t.entry.d_tag == "DT_SONAME"]
    if sonames != [policy_soname(version)]:
        fail(f"libpcstate.so SONAME {sonames}, the policy wants {policy_soname(version)}")
    return sonames[0]


def check_wheel(path: Path, venv_python: str) -> None:
    name = path.name
    version = name.split("-")[1]
    if name.endswith("-none-any.whl") or "-py3-none-" not in name:
        fail(f"{name}: want a py3-none-<platform> tag")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        if "pcstate/libpcstate.so" not in names:
            fail(f"{name} has no pcstate/libpcstate.so: {names}")
        lib = z.read("pcstate/libpcstate.so")
        soname = check_library(lib, version)
        meta = z.read(f"pcstate-{version}.dist-info/METADATA").decode()
        if "License-Expression: MIT" not in meta or "License-File: LICENSE" not in meta:
            fail(f"{name}: METADATA lacks License-Expression: MIT / License-File: LICENSE")
        if f"pcstate-{version}.dist-info/licenses/LICENSE" not in names:
            fail(f"{name} has no LICENSE")
    out = subprocess.run([venv_python, "-m", "auditwheel", "show", str(path)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"auditwheel show {name}: {out.stderr or out.stdout}")
    tag = re.search(r'platform tag:\s*"([^"]+)"', out.stdout)
    if not tag:
        fail(f"auditwheel show {name} named no platform tag:\n{out.stdout}")
    print(f"wheel: {name}, {path.stat().st_size:,} bytes; pcstate/libpcstate.so {len(lib):,} bytes, "
          f"stripped, SONAME {soname}; auditwheel: qualifies for {tag.group(1)}")


def check_sdist(path: Path) -> None:
    with tarfile.open(path) as t:
        root = path.name[: -len(".tar.gz")]
        names = set(t.getnames())
        missing = [f for f in SDIST_CRATE if f"{root}/rust/{f}" not in names]
        if missing or f"{root}/LICENSE" not in names:
            fail(f"{path.name} lacks {missing or 'LICENSE'}")
    print(f"sdist: {path.name}, {path.stat().st_size:,} bytes, carries the crate under rust/")


def main() -> None:
    directory = Path(sys.argv[1])
    wheels = sorted(directory.glob("pcstate-*.whl"))
    sdists = sorted(directory.glob("pcstate-*.tar.gz"))
    if not wheels:
        fail(f"no wheel in {directory}")
    for w in wheels:
        check_wheel(w, sys.executable)
    for s in sdists:
        check_sdist(s)


if __name__ == "__main__":
    main()
