"""Ships the repository's built library inside the package when there is one.

`pip install ./bindings/python` after `make build` (or `cargo build --release`) copies
`target/release/libpcstate.so` into the package, so the installed binding finds its library without
PCSTATE_LIBRARY. Without a built library the package still installs and looks elsewhere at import.
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
BUILT = os.path.join(HERE, "..", "..", "target", "release", "libpcstate.so")


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        if os.path.exists(BUILT):
            dest = os.path.join(self.build_lib, "pcstate", "libpcstate.so")
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(BUILT, dest)


setup(cmdclass={"build_py": BuildPyWithLibrary})
