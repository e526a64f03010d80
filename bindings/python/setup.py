"""Builds libpcstate with setuptools-rust and ships it inside the package as pcstate/libpcstate.so.

The crate is the repository root, two levels up; an sdist carries a copy of what it needs under
rust/. The library is a plain cdylib loaded with ctypes (Binding.NoBinding), so it does not depend
on the Python ABI: the file keeps the name the loader looks for, and the wheel is tagged
py3-none-<platform>. Cargo's release profile strips it. Metadata is in pyproject.toml.
"""
import os
import shutil

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.sdist import sdist
from setuptools_rust import Binding, RustExtension
from setuptools_rust.build import build_rust

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
# What building the crate reads (Cargo.toml names the stress example, so its source comes too).
CRATE_FILES = [
    "Cargo.toml",
    "Cargo.lock",
    "build.rs",
    "cbindgen.toml",
    "LICENSE",
    "README.md",
    "src",
    "include",
    "tests/stress/stress.rs",
]
# An unpacked sdist has rust/; a checkout has the crate at its root.
CRATE = "rust" if os.path.exists(os.path.join(HERE, "rust", "Cargo.toml")) else os.path.join("..", "..")


class BuildRust(build_rust):
    """Names the library libpcstate.so, not a CPython extension-module file name."""

    def get_dylib_ext_path(self, ext: RustExtension, target_fname: str) -> str:
        path = super().get_dylib_ext_path(ext, target_fname)
        return os.path.join(os.path.dirname(path), "libpcstate.so")


class PlatformWheel(bdist_wheel):
    """Tags the wheel py3-none-<platform>: any Python 3, this platform only."""

    def get_tag(self) -> "tuple[str, str, str]":
        _, _, platform = super().get_tag()
        return "py3", "none", platform


class SdistWithCrate(sdist):
    """Puts the crate into the sdist under rust/, so the sdist builds on its own."""

    def make_release_tree(self, base_dir: str, files: "list[str]") -> None:
        super().make_release_tree(base_dir, files)
        source = os.path.join(HERE, "rust") if CRATE == "rust" else REPO
        for rel in CRATE_FILES:
            src, dst = os.path.join(source, rel), os.path.join(base_dir, "rust", rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if os.path.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.orig", "*.rej", "*~"))
            else:
                shutil.copyfile(src, dst)


setup(
    rust_extensions=[
        RustExtension(
            "pcstate.libpcstate",
            path=os.path.join(CRATE, "Cargo.toml"),
            binding=Binding.NoBinding,
            py_limited_api=False,
            debug=False,  # editable installs too
            args=["--locked"],  # the committed Cargo.lock, nothing newer
        )
    ],
    cmdclass={"build_rust": BuildRust, "bdist_wheel": PlatformWheel, "sdist": SdistWithCrate},
)
