//! `include/pcstate.abi.json` tells the truth about the C ABI: its functions are exactly those the
//! built library exports, with the header's signatures; its constants are every integer constant
//! of the header, with the values a C compiler sees; its structs have a C compiler's sizes,
//! offsets and field types; and the C++ wrapper's enums have its values. (tests/header.rs checks
//! that the committed manifest is the one the sources generate.)
//!
//! Needs `nm` and a C and a C++ compiler (`CC`, `CXX`; `cc` and `c++` by default).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(root().join("include/pcstate.abi.json"))
        .expect("include/pcstate.abi.json");
    serde_json::from_str(&text).expect("the manifest is JSON")
}

fn text(v: &Value) -> &str {
    v.as_str().expect("a string")
}

fn items<'a>(m: &'a Value, key: &str) -> &'a Vec<Value> {
    m[key]
        .as_array()
        .unwrap_or_else(|| panic!("manifest.{key} is a list"))
}

/// The manifest's constants by name.
fn constants(m: &Value) -> BTreeMap<String, u64> {
    items(m, "constants")
        .iter()
        .map(|c| (text(&c["name"]).to_string(), c["value"].as_u64().unwrap()))
        .collect()
}

/// Runs a tool; its stdout, or a panic with what it printed.
fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn tool(var: &str, default: &str) -> Command {
    Command::new(std::env::var(var).unwrap_or_else(|_| default.to_string()))
}

/// Writes `source` to the test's scratch directory as `name`.
fn scratch(name: &str, source: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, source).unwrap();
    path
}

/// Compiles a C11 program against include/ with every warning an error, runs it, returns its
/// output.
fn run_c(name: &str, source: &str) -> String {
    let src = scratch(&format!("{name}.c"), source);
    let exe = src.with_extension("");
    run(tool("CC", "cc")
        .args(["-std=c11", "-pedantic", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root().join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe));
    run(&mut Command::new(&exe))
}

/// Compiles C11 source against include/ with every warning an error (no link).
fn check_c(name: &str, source: &str) {
    let src = scratch(&format!("{name}.c"), source);
    run(tool("CC", "cc")
        .args([
            "-std=c11",
            "-pedantic",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-c",
            "-I",
        ])
        .arg(root().join("include"))
        .arg(&src)
        .arg("-o")
        .arg(src.with_extension("o")));
}

/// Compiles C++17 source against include/ with every warning an error (syntax only).
fn check_cxx(name: &str, source: &str) {
    let src = scratch(&format!("{name}.cpp"), source);
    run(tool("CXX", "c++")
        .args([
            "-std=c++17",
            "-pedantic",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-fsyntax-only",
            "-I",
        ])
        .arg(root().join("include"))
        .arg(&src));
}

/// A declaration of `name` with the manifest's function type: `R (*name)(T1, T2)`.
fn fn_pointer(name: &str, returns: &str, params: &[Value]) -> String {
    let types: Vec<&str> = params.iter().map(|p| text(&p["type"])).collect();
    let list = if types.is_empty() {
        "void".to_string()
    } else {
        types.join(", ")
    };
    format!("{returns} (*{name})({list})")
}

/// The type of a pointer to `ty`: `T *`, or `T (*)[N]` for an array type `T[N]`.
fn pointer_to(ty: &str) -> String {
    match ty.find('[') {
        Some(i) => format!("{} (*){}", &ty[..i], &ty[i..]),
        None => format!("{ty} *"),
    }
}

/// The shared library as this source tree builds it: the cdylib beside this test's profile when
/// cargo built one for the run, else one built now into a target dir of its own (cargo builds
/// the cdylib for integration tests only when something else asked for it).
fn built_library() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let beside = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("libpcstate.so");
    if beside.exists() {
        return beside;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target").join("abi-manifest");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--lib", "--quiet", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --lib failed");
    let lib = target.join("debug").join("libpcstate.so");
    assert!(lib.exists(), "{} was not built", lib.display());
    lib
}

#[test]
fn manifest_functions_are_exactly_the_library_exports() {
    let lib = built_library();
    let exported: BTreeSet<String> =
        run(Command::new("nm").args(["-D", "--defined-only"]).arg(&lib))
            .lines()
            .filter_map(|l| l.split_whitespace().nth(2))
            .filter(|s| s.starts_with("pcstate_"))
            .map(String::from)
            .collect();
    let m = manifest();
    let listed: BTreeSet<String> = items(&m, "functions")
        .iter()
        .map(|f| text(&f["name"]).to_string())
        .collect();
    let missing: Vec<_> = exported.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&exported).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "exported but not in the manifest: {missing:?}; in the manifest but not exported: {extra:?}"
    );
}

#[test]
fn manifest_signatures_and_typedefs_are_the_headers() {
    let m = manifest();
    // C: each function converts to a pointer of exactly the manifest's type, and each typedef is
    // exactly the manifest's type (the C view: an enum type is its uint32_t).
    let mut c = String::from("#include \"pcstate.h\"\n");
    let mut cxx = String::from("#include \"pcstate.h\"\n");
    for (i, f) in items(&m, "functions").iter().enumerate() {
        let (name, returns) = (text(&f["name"]), text(&f["returns"]));
        let params = f["params"].as_array().unwrap();
        let decl = fn_pointer(&format!("const f{i}"), returns, params);
        c.push_str(&format!("static {decl} = {name};\n"));
        // C++: the same, where an enum return type is the enum itself.
        cxx.push_str(&format!("[[maybe_unused]] static {decl} = {name};\n"));
    }
    for (name, t) in m["typedefs"].as_object().unwrap() {
        let ty = text(&t["type"]);
        let ptr = match t.get("returns") {
            Some(_) => ty.replacen("(*)", "(**)", 1),
            None => pointer_to(ty),
        };
        c.push_str(&format!(
            "_Static_assert(_Generic(({name} *)0, {ptr}: 1, default: 0), \"{name} is {ty}\");\n"
        ));
    }
    c.push_str("void use(void);\nvoid use(void) {\n");
    for i in 0..items(&m, "functions").len() {
        c.push_str(&format!("    (void)f{i};\n"));
    }
    c.push_str("}\n");
    check_c("signatures", &c);
    check_cxx("signatures", &cxx);
}

#[test]
fn manifest_constants_are_every_header_constant_with_its_c_value() {
    let m = manifest();
    let listed = constants(&m);
    // Every integer macro (as the preprocessor defines them) and every enum constant (each on a
    // line of its own in the header) is in the manifest.
    let include = root().join("include");
    let macros = run(tool("CC", "cc")
        .args(["-std=c11", "-dM", "-E", "-x", "c"])
        .arg(include.join("pcstate.h")));
    let mut in_header: BTreeSet<String> = macros
        .lines()
        .filter_map(|l| l.strip_prefix("#define "))
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, value)| name.starts_with("PCSTATE_") && !value.trim().is_empty())
        .map(|(name, _)| name.to_string())
        .collect();
    let header = std::fs::read_to_string(include.join("pcstate.h")).unwrap();
    for line in header.lines().map(str::trim) {
        if line.starts_with("PCSTATE_") {
            let name = line.split([' ', ',', '=']).next();
            in_header.insert(name.unwrap().to_string());
        }
    }
    let missing: Vec<_> = in_header
        .iter()
        .filter(|n| !listed.contains_key(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "header constants missing from the manifest: {missing:?}"
    );
    // And each has the value a C compiler gives it.
    let mut c = String::from("#include <stdio.h>\n#include \"pcstate.h\"\nint main(void) {\n");
    for name in listed.keys() {
        c.push_str(&format!(
            "    printf(\"%s %llu\\n\", \"{name}\", (unsigned long long)({name}));\n"
        ));
    }
    c.push_str("    return 0;\n}\n");
    let compiled: BTreeMap<String, u64> = run_c("constants", &c)
        .lines()
        .map(|l| {
            let (name, v) = l.split_once(' ').unwrap();
            (name.to_string(), v.parse().unwrap())
        })
        .collect();
    assert_eq!(
        compiled, listed,
        "the C compiler's values (left), the manifest's (right)"
    );
}

#[test]
fn manifest_struct_layouts_are_the_c_compilers() {
    let m = manifest();
    let structs = items(&m, "structs");
    // Every struct of the header is in the manifest.
    let header = std::fs::read_to_string(root().join("include/pcstate.h")).unwrap();
    let defined: BTreeSet<&str> = header
        .lines()
        .filter_map(|l| l.strip_prefix("struct ")?.strip_suffix(" {"))
        .collect();
    let listed: BTreeSet<&str> = structs.iter().map(|s| text(&s["name"])).collect();
    assert_eq!(
        defined, listed,
        "the header's structs (left), the manifest's (right)"
    );
    // Sizes, offsets, field sizes and alignments as the compiler has them; field types exact.
    let mut c = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include \"pcstate.h\"\nint main(void) {\n",
    );
    for s in structs {
        let name = text(&s["name"]);
        c.push_str(&format!(
            "    printf(\"{name} %zu %zu\\n\", sizeof(struct {name}), _Alignof(struct {name}));\n"
        ));
        for f in s["fields"].as_array().unwrap() {
            let (field, ty) = (text(&f["name"]), text(&f["type"]));
            let member = format!("((struct {name} *)0)->{field}");
            c.push_str(&format!(
                "    _Static_assert(_Generic(&{member}, {}: 1, default: 0), \"{name}.{field} is {ty}\");\n",
                pointer_to(ty)
            ));
            c.push_str(&format!(
                "    printf(\"{name}.{field} %zu %zu %zu\\n\", offsetof(struct {name}, {field}), \
                 sizeof({member}), _Alignof({ty}));\n"
            ));
        }
    }
    c.push_str("    return 0;\n}\n");
    let out = run_c("layouts", &c);
    let compiled: BTreeMap<&str, Vec<u64>> = out
        .lines()
        .map(|l| {
            let mut w = l.split(' ');
            let key = w.next().unwrap();
            (key, w.map(|n| n.parse().unwrap()).collect())
        })
        .collect();
    for s in structs {
        let name = text(&s["name"]);
        let (size, align) = (compiled[name][0], compiled[name][1]);
        assert_eq!(s["size"].as_u64(), Some(size), "sizeof(struct {name})");
        // The fields cover the struct but for padding: no field is missing.
        let mut end = 0;
        for f in s["fields"].as_array().unwrap() {
            let field = text(&f["name"]);
            let got = &compiled[format!("{name}.{field}").as_str()];
            let (offset, fsize, falign) = (got[0], got[1], got[2]);
            assert_eq!(
                f["offset"].as_u64(),
                Some(offset),
                "offsetof({name}, {field})"
            );
            assert!(
                offset >= end && offset - end < falign,
                "{name}: a gap before {field} that padding does not explain (a missing field?)"
            );
            end = offset + fsize;
        }
        assert!(
            size - end < align,
            "{name}: a gap at the end (a missing field?)"
        );
    }
}

/// Upper case without underscores: `W3CLiteral` and `W3C_LITERAL` both give `W3CLITERAL`.
fn squash(s: &str) -> String {
    s.replace('_', "").to_uppercase()
}

/// The C++ wrapper's enum classes and its `flags` namespace: for each, its name and its members
/// as (C++ name, the C constant it is defined as).
fn cpp_groups(hpp: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut groups = Vec::new();
    let mut current: Option<(String, Vec<(String, String)>)> = None;
    for line in hpp.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("enum class ") {
            current = Some((
                rest.split([' ', ':']).next().unwrap().to_string(),
                Vec::new(),
            ));
        } else if line == "namespace flags {" {
            current = Some(("flags".to_string(), Vec::new()));
        } else if line.starts_with('}') {
            groups.extend(current.take().filter(|(_, members)| !members.is_empty()));
        } else if let Some((_, members)) = current.as_mut() {
            let line = line.strip_prefix("constexpr uint32_t ").unwrap_or(line);
            if let Some((name, c)) = line.split_once(" = ") {
                let c = c.split([',', ';', ' ']).next().unwrap();
                members.push((name.trim().to_string(), c.to_string()));
            }
        }
    }
    groups
}

#[test]
fn cpp_wrapper_enums_have_the_manifest_values() {
    let listed = constants(&manifest());
    let hpp = std::fs::read_to_string(root().join("include/pcstate.hpp")).unwrap();
    let groups = cpp_groups(&hpp);
    assert!(
        groups.len() >= 10,
        "found only {} C++ enums in pcstate.hpp",
        groups.len()
    );
    let mut cxx = String::from("#include <cstdint>\n#include \"pcstate.hpp\"\n");
    for (group, members) in &groups {
        // Each member is defined as the C constant of its own name: one prefix for the group.
        let mut prefixes = BTreeSet::new();
        for (name, c) in members {
            let value = listed
                .get(c)
                .unwrap_or_else(|| panic!("{group}::{name} = {c}, which the manifest lacks"));
            let prefix = c
                .match_indices('_')
                .map(|(i, _)| &c[..=i])
                .find(|p| squash(&c[p.len()..]) == squash(name))
                .unwrap_or_else(|| panic!("{group}::{name} is defined as {c}, another name"));
            prefixes.insert(prefix.to_string());
            let member = if group == "flags" {
                format!("pcstate::flags::{name}")
            } else {
                format!("static_cast<std::uint32_t>(pcstate::{group}::{name})")
            };
            cxx.push_str(&format!(
                "static_assert({member} == {value}u, \"{group}::{name} is {value}\");\n"
            ));
        }
        assert_eq!(prefixes.len(), 1, "{group} mixes constants of {prefixes:?}");
        // And no constant of the C group is left out.
        let prefix = prefixes.pop_first().unwrap();
        let covered: BTreeSet<&String> = members.iter().map(|(_, c)| c).collect();
        let left: Vec<_> = listed
            .keys()
            .filter(|k| k.starts_with(&prefix) && !covered.contains(k))
            .collect();
        assert!(left.is_empty(), "C++ {group} lacks {left:?}");
    }
    check_cxx("cpp_enums", &cxx);
}
