"""Conan 2 recipe: builds libpcstate from this source tree with cargo; `pcstate::pcstate` in CMake.

    conan create packaging/conan --build=missing                          # shared library
    conan create packaging/conan --build=missing -o 'pcstate/*:shared=False'  # static library

The package holds the library the `shared` option selects (libpcstate.so with its SONAME links, or
libpcstate.a with the system libraries it needs) and include/pcstate.h, include/pcstate.hpp.
Needs cargo (the Rust toolchain named by rust-version in Cargo.toml, or newer) on PATH; crates
come from cargo's cache or crates.io, pinned by Cargo.lock. Native builds only.
"""
import os
import re
import shutil

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import cross_building
from conan.tools.files import copy, load

REPO = os.path.join("..", "..")  # the crate, from this recipe's folder
# What building the crate reads (Cargo.toml names the stress example, so its source comes too).
CRATE = ["Cargo.toml", "Cargo.lock", "build.rs", "cbindgen.toml", "LICENSE", "README.md", "src/*",
         "include/pcstate.h", "include/pcstate.hpp", "tests/stress/stress.rs"]
NATIVE_LIBS = "native-static-libs.txt"  # what rustc says a static consumer links, kept in the package


class PcstateConan(ConanFile):
    name = "pcstate"
    description = ("The RTCPeerConnection state machine (connectionState, iceConnectionState, "
                   "iceGatheringState) exactly as browsers define it, behind a stable C ABI.")
    license = "MIT"
    topics = ("webrtc", "ice", "dtls", "state-machine", "ffi")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"shared": [True, False]}
    default_options = {"shared": True}

    def set_version(self):
        cargo_toml = load(self, os.path.join(self.recipe_folder, REPO, "Cargo.toml"))
        self.version = re.search(r'^version = "([^"]+)"', cargo_toml, re.M).group(1)

    def export_sources(self):
        for pattern in CRATE:
            copy(self, pattern, os.path.join(self.recipe_folder, REPO), self.export_sources_folder)

    def configure(self):
        # A C library (the C++ header is a header-only wrapper): the C++ runtime does not matter.
        self.settings.rm_safe("compiler.libcxx")
        self.settings.rm_safe("compiler.cppstd")

    def validate(self):
        if cross_building(self):
            raise ConanInvalidConfiguration("pcstate's recipe builds natively only (cargo's host target)")
        if self.settings.os == "Windows":
            raise ConanInvalidConfiguration("pcstate is not built or tested on Windows")

    def package_id(self):
        # rustc builds the library, whatever C compiler the consumer uses.
        del self.info.settings.compiler

    def build(self):
        # cargo's own CARGO_TARGET_DIR is honoured (the shared and static packages then share one
        # build); otherwise the build folder holds it.
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(self.build_folder, "target")
        # `cargo rustc` so that rustc also writes what a static consumer must link besides the
        # library (into the target dir, so that the flags, and a finished build, stay the same).
        self.run(f"cargo rustc --lib --locked --profile {self._profile} --target-dir {target} "
                 f"-- --print native-static-libs={os.path.join(target, NATIVE_LIBS)}",
                 cwd=self.source_folder)

    @property
    def _profile(self):
        return "dev" if self.settings.build_type == "Debug" else "release"

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        copy(self, "pcstate.h*", os.path.join(self.source_folder, "include"),
             os.path.join(self.package_folder, "include"))
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(self.build_folder, "target")
        out = os.path.join(target, "debug" if self._profile == "dev" else "release")
        lib = os.path.join(self.package_folder, "lib")
        if not self.options.shared:
            copy(self, "libpcstate.a", out, lib)
            copy(self, NATIVE_LIBS, target, lib)
            if self.settings.os == "Linux" and self._profile == "release" and shutil.which("strip"):
                # As `make build`: no debug info, no LLVM bitcode (no C linker reads it).
                self.run("strip --strip-debug --remove-section=.llvmbc --remove-section=.llvmcmd "
                         + os.path.join(lib, "libpcstate.a"))
        elif self.settings.os == "Macos":
            copy(self, "libpcstate.dylib", out, lib)
        else:
            self._package_so(out, lib)

    def _package_so(self, out, lib):
        """libpcstate.so.VERSION, its SONAME link and libpcstate.so, as `make install` lays them."""
        major, minor = self.version.split(".")[:2]
        soname = f"libpcstate.so.0.{minor}" if major == "0" else f"libpcstate.so.{major}"
        os.makedirs(lib, exist_ok=True)
        real = f"libpcstate.so.{self.version}"
        shutil.copy2(os.path.join(out, "libpcstate.so"), os.path.join(lib, real))
        os.symlink(real, os.path.join(lib, soname))
        os.symlink(soname, os.path.join(lib, "libpcstate.so"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "pcstate")
        self.cpp_info.set_property("cmake_target_name", "pcstate::pcstate")
        self.cpp_info.set_property("pkg_config_name", "pcstate")
        self.cpp_info.libs = ["pcstate"]
        if not self.options.shared:
            flags = load(self, os.path.join(self.package_folder, "lib", NATIVE_LIBS)).split()
            # -lc is every C program's already; frameworks (macOS) stay flags.
            self.cpp_info.system_libs = [f[2:] for f in flags if f.startswith("-l") and f != "-lc"]
            frameworks = [flags[i + 1] for i, f in enumerate(flags[:-1]) if f == "-framework"]
            self.cpp_info.frameworks = frameworks

