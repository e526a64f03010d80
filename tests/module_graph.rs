//! The modules of `src/` import each other without a cycle (a layered library: each module
//! knows only the ones below it).
//!
//! Every `crate::name` a module's code mentions (in `use` lines, grouped `use crate::{..}` lists
//! and inline paths such as `crate::registry::recycle(..)`), comments left out, is an edge
//! module -> name; the crate root `lib.rs` is left out (it declares them all). A cycle fails the
//! test with its path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The `crate::` names mentioned in `code` (comments removed).
fn mentions(code: &str) -> BTreeSet<String> {
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            // `use crate::{a, b::{C, D}, e}`, on one line or several: the top-level items.
            Some(list) => {
                let (mut depth, mut item) = (0, String::new());
                for c in list.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            out.insert(ident(item.trim()));
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(c);
                }
                out.insert(ident(item.trim()));
            }
            None => {
                out.insert(ident(rest));
            }
        }
    }
    out.remove("");
    out
}

/// The leading identifier of `s`.
fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// A cycle in `graph`, as a path that starts and ends at the same module.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // 0 unvisited, 1 on the current path, 2 done.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_string(), 1);
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = path.iter().position(|p| p == next).expect("on the path");
                    let mut cycle = path[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in graph.keys() {
        if state.get(m.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(m, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// The graph of `src/`: module -> the modules it mentions.
fn src_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<_> = std::fs::read_dir(&src)
        .expect("src/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    let modules: BTreeSet<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|m| m != "lib")
        .collect();
    let mut graph = BTreeMap::new();
    for m in &modules {
        let code = std::fs::read_to_string(src.join(format!("{m}.rs"))).expect("readable");
        let edges: BTreeSet<String> = mentions(&code)
            .into_iter()
            .filter(|n| n != m && modules.contains(n))
            .collect();
        graph.insert(m.clone(), edges);
    }
    graph
}

#[test]
fn src_modules_import_no_cycle() {
    let graph = src_graph();
    assert!(graph.len() > 5, "found the modules: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle in src/: {}", cycle.join(" -> "));
    }
}

/// The checker itself: it sees every form of mention and finds a planted cycle.
#[test]
fn the_checker_sees_uses_inline_paths_and_cycles() {
    let code = "use crate::a::X;\nuse crate::{b, c::{D, E}};\nuse crate::{\n    f::G,\n    h,\n};\n\
                fn x() { crate::i::j(); } // crate::not_this\n";
    let names: Vec<_> = mentions(code).into_iter().collect();
    assert_eq!(names, ["a", "b", "c", "f", "h", "i"]);
    let mut g = BTreeMap::new();
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    g.insert("a".to_string(), set(&["b"]));
    g.insert("b".to_string(), set(&["c"]));
    g.insert("c".to_string(), set(&[]));
    assert_eq!(find_cycle(&g), None);
    g.insert("c".to_string(), set(&["a"]));
    assert_eq!(find_cycle(&g).unwrap(), ["a", "b", "c", "a"]);
}
