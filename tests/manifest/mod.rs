//! Derives the ABI manifest (include/pcstate.abi.json) from the C header: every integer constant,
//! enum, typedef, struct (with its x86_64 Linux layout) and function, with types spelled as the
//! header spells them.
//!
//! It reads the header as a C99 compiler for Linux does (no C++, before C23: an enum type is its
//! `uint32_t` typedef) and knows only the forms cbindgen writes; anything else stops it with a
//! message naming what to teach it. tests/abi_manifest.rs checks the result against the built
//! library and a C compiler.

use std::collections::HashSet;
use std::fmt::Write;

/// The manifest, as JSON text, of `header` for library version `version`.
pub fn from_header(header: &str, version: &str) -> String {
    let mut abi = Abi::default();
    for decl in declarations(&preprocess(&strip_comments(header))) {
        abi.add(&decl);
    }
    abi.to_json(version)
}

/// A named parameter or field type, as the header spells it (`"const struct pcstate_event *"`).
struct Param {
    name: String,
    ty: String,
}

enum Typedef {
    /// `typedef uint64_t pcstate_peer;`
    Alias(String),
    /// `typedef void (*pcstate_free_cb)(void *user_data);`
    FnPtr { returns: String, params: Vec<Param> },
}

struct Field {
    name: String,
    ty: String,
    offset: u64,
}

struct Struct {
    name: String,
    size: u64,
    align: u64,
    fields: Vec<Field>,
}

struct Function {
    name: String,
    returns: String,
    params: Vec<Param>,
}

#[derive(Default)]
struct Abi {
    constants: Vec<(String, u128)>,
    enums: Vec<(String, Vec<String>)>,
    typedefs: Vec<(String, Typedef)>,
    structs: Vec<Struct>,
    functions: Vec<Function>,
}

/// The header without its comments (a line comment's newline is kept).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("/*") {
            let end = r.find("*/").expect("an unterminated comment");
            rest = &r[end + 2..];
            out.push(' ');
        } else if let Some(r) = rest.strip_prefix("//") {
            rest = &r[r.find('\n').unwrap_or(r.len())..];
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The code a C99 compiler for Linux sees, with each `#define NAME VALUE` turned into a
/// declaration `#define NAME VALUE;` in its place (so constants keep the header's order).
fn preprocess(text: &str) -> String {
    let mut defined: HashSet<String> = HashSet::new();
    // For each open conditional: (the enclosing code is active, this branch is taken).
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let active =
        |stack: &Vec<(bool, bool)>| stack.last().is_none_or(|&(outer, taken)| outer && taken);
    let mut out = String::new();
    for line in text.lines() {
        let Some(directive) = line.trim().strip_prefix('#') else {
            if active(&stack) {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        };
        let (word, arg) = directive
            .trim()
            .split_once(char::is_whitespace)
            .map_or((directive.trim(), ""), |(w, a)| (w, a.trim()));
        match word {
            "if" => stack.push((active(&stack), condition(arg, &defined))),
            "ifdef" => stack.push((active(&stack), defined.contains(arg))),
            "ifndef" => stack.push((active(&stack), !defined.contains(arg))),
            "else" => {
                let top = stack.last_mut().expect("#else without #if");
                top.1 = !top.1;
            }
            "endif" => {
                stack.pop().expect("#endif without #if");
            }
            "include" => {}
            "define" if active(&stack) => {
                let (name, value) = arg.split_once(char::is_whitespace).unwrap_or((arg, ""));
                defined.insert(name.to_string());
                if !value.trim().is_empty() {
                    writeln!(out, "#define {name} {};", value.trim()).unwrap();
                }
            }
            "define" => {}
            _ => panic!("tests/manifest: teach it the directive `#{directive}`"),
        }
    }
    assert!(stack.is_empty(), "an unterminated #if");
    out
}

/// An `#if` condition, for C99 on Linux: `__cplusplus` is not defined, `__STDC_VERSION__` is
/// 199901L.
fn condition(expr: &str, defined: &HashSet<String>) -> bool {
    expr.split("||").any(|term| {
        let term = term.trim();
        if let Some(name) = term
            .strip_prefix("defined(")
            .and_then(|t| t.strip_suffix(')'))
        {
            defined.contains(name.trim())
        } else if let Some(n) = term.strip_prefix("__STDC_VERSION__ >=") {
            199901 >= n.trim().trim_end_matches('L').parse::<u64>().unwrap()
        } else {
            panic!("tests/manifest: teach it the condition `{term}`")
        }
    })
}

/// The top-level declarations (split at `;` outside braces and parentheses), each with its
/// whitespace collapsed to single spaces.
fn declarations(code: &str) -> Vec<String> {
    let mut decls = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in code.chars() {
        match c {
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => depth -= 1,
            _ => {}
        }
        if c == ';' && depth == 0 {
            let d = collapse(&current);
            if !d.is_empty() {
                decls.push(d);
            }
            current.clear();
        } else {
            current.push(c);
        }
    }
    assert!(
        collapse(&current).is_empty(),
        "text after the last declaration: {current}"
    );
    decls
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits `"const char *name"` into (`"name"`, `"const char *"`) and `"uint64_t a[6]"` into
/// (`"a"`, `"uint64_t[6]"`).
fn declarator(d: &str) -> (String, String) {
    let d = d.trim();
    let (d, array) = match d.strip_suffix(']') {
        Some(r) => {
            let open = r.rfind('[').expect("an array declarator");
            (&r[..open], format!("[{}]", r[open + 1..].trim()))
        }
        None => (d, String::new()),
    };
    let d = d.trim_end();
    let start = d
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let (ty, name) = (&d[..start], &d[start..]);
    assert!(
        !name.is_empty() && !ty.trim().is_empty(),
        "tests/manifest: teach it `{d}`"
    );
    (name.to_string(), format!("{}{array}", spell(ty)))
}

/// A type as the header writes it, with a space before a run of `*`: `"const char *"`.
fn spell(ty: &str) -> String {
    let ty = ty.trim();
    let base = ty.trim_end_matches(|c: char| c == '*' || c.is_whitespace());
    let stars = ty[base.len()..].chars().filter(|&c| c == '*').count();
    if stars == 0 {
        base.to_string()
    } else {
        format!("{base} {}", "*".repeat(stars))
    }
}

/// A parameter list's declarations (`void` is none).
fn params(list: &str) -> Vec<Param> {
    let list = list.trim();
    if list == "void" || list.is_empty() {
        return Vec::new();
    }
    list.split(',')
        .map(|p| {
            let (name, ty) = declarator(p);
            Param { name, ty }
        })
        .collect()
}

/// `"NAME { BODY }"` as (`NAME`, `BODY`).
fn braced(d: &str) -> (&str, &str) {
    let open = d.find('{').expect("a body in braces");
    let close = d.rfind('}').expect("a closed body");
    (d[..open].trim(), &d[open + 1..close])
}

/// The value of a constant expression: integers, `UINT32_MAX`/`UINT64_MAX`, `<<`, `|`, parentheses.
fn value(expr: &str) -> u128 {
    fn or(t: &mut Vec<String>) -> u128 {
        let mut v = shift(t);
        while t.last().is_some_and(|x| x == "|") {
            t.pop();
            v |= shift(t);
        }
        v
    }
    fn shift(t: &mut Vec<String>) -> u128 {
        let mut v = atom(t);
        while t.last().is_some_and(|x| x == "<<") {
            t.pop();
            v <<= atom(t);
        }
        v
    }
    fn atom(t: &mut Vec<String>) -> u128 {
        let tok = t.pop().expect("an operand");
        match tok.as_str() {
            "(" => {
                let v = or(t);
                assert_eq!(t.pop().as_deref(), Some(")"), "an unbalanced parenthesis");
                v
            }
            "UINT32_MAX" => u32::MAX.into(),
            "UINT64_MAX" => u64::MAX.into(),
            _ => {
                let digits = tok.trim_end_matches(['u', 'U', 'l', 'L']);
                match digits
                    .strip_prefix("0x")
                    .or_else(|| digits.strip_prefix("0X"))
                {
                    Some(hex) => u128::from_str_radix(hex, 16),
                    None => digits.parse(),
                }
                .unwrap_or_else(|_| panic!("tests/manifest: teach it the constant `{tok}`"))
            }
        }
    }
    let spaced = expr
        .replace("<<", " << ")
        .replace('(', " ( ")
        .replace(')', " ) ")
        .replace('|', " | ");
    let mut tokens: Vec<String> = spaced.split_whitespace().rev().map(String::from).collect();
    let v = or(&mut tokens);
    assert!(
        tokens.is_empty(),
        "tests/manifest: teach it the expression `{expr}`"
    );
    v
}

impl Abi {
    fn add(&mut self, d: &str) {
        if let Some(rest) = d.strip_prefix("#define ") {
            let (name, expr) = rest.split_once(' ').unwrap();
            if name.starts_with("PCSTATE_") {
                self.constants.push((name.to_string(), value(expr)));
            }
        } else if d.starts_with("enum ") {
            self.add_enum(d);
        } else if let Some(rest) = d.strip_prefix("typedef ") {
            self.add_typedef(rest);
        } else if d.starts_with("struct ") && d.contains('{') {
            self.add_struct(d);
        } else {
            self.add_function(d);
        }
    }

    fn add_enum(&mut self, d: &str) {
        let (head, body) = braced(d);
        let name = head.strip_prefix("enum ").unwrap().trim().to_string();
        let mut next = 0u128;
        let mut names = Vec::new();
        for item in body.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (constant, v) = match item.split_once('=') {
                Some((c, v)) => (c.trim(), value(v)),
                None => (item, next),
            };
            self.constants.push((constant.to_string(), v));
            names.push(constant.to_string());
            next = v + 1;
        }
        self.enums.push((name, names));
    }

    fn add_typedef(&mut self, rest: &str) {
        let (name, typedef) = if let Some(star) = rest.find("(*") {
            let returns = spell(&rest[..star]);
            let close = star + rest[star..].find(')').unwrap();
            let name = rest[star + 2..close].trim().to_string();
            let args = &rest[close + 1..];
            let args = args
                .trim()
                .strip_prefix('(')
                .and_then(|a| a.strip_suffix(')'));
            let params = params(args.expect("a function pointer's parameters"));
            (name, Typedef::FnPtr { returns, params })
        } else {
            let (name, ty) = declarator(rest);
            (name, Typedef::Alias(ty))
        };
        self.typedefs.push((name, typedef));
    }

    fn add_struct(&mut self, d: &str) {
        let (head, body) = braced(d);
        let name = head.strip_prefix("struct ").unwrap().trim().to_string();
        let (mut offset, mut align) = (0u64, 1u64);
        let mut fields = Vec::new();
        for f in body.split(';').map(str::trim).filter(|f| !f.is_empty()) {
            let (field, ty) = declarator(f);
            let (size, a) = self.layout(&ty);
            offset = offset.next_multiple_of(a);
            fields.push(Field {
                name: field,
                ty,
                offset,
            });
            offset += size;
            align = align.max(a);
        }
        let size = offset.next_multiple_of(align);
        self.structs.push(Struct {
            name,
            size,
            align,
            fields,
        });
    }

    fn add_function(&mut self, d: &str) {
        let open = d
            .find('(')
            .unwrap_or_else(|| panic!("tests/manifest: teach it `{d}`"));
        let args = d[open..]
            .strip_prefix('(')
            .and_then(|a| a.strip_suffix(')'));
        let (name, returns) = declarator(&d[..open]);
        self.functions.push(Function {
            name,
            returns,
            params: params(args.unwrap_or_else(|| panic!("tests/manifest: teach it `{d}`"))),
        });
    }

    /// (size, alignment) of a type on x86_64 Linux.
    fn layout(&self, ty: &str) -> (u64, u64) {
        if ty.ends_with('*') {
            return (8, 8);
        }
        if let Some(open) = ty.strip_suffix(']').and_then(|t| t.rfind('[')) {
            let n: u64 = ty[open + 1..ty.len() - 1].parse().expect("an array length");
            let (size, align) = self.layout(&ty[..open]);
            return (size * n, align);
        }
        match ty {
            "int8_t" | "uint8_t" | "char" | "bool" => return (1, 1),
            "int16_t" | "uint16_t" => return (2, 2),
            "int32_t" | "uint32_t" | "int" => return (4, 4),
            "int64_t" | "uint64_t" | "size_t" | "intptr_t" | "uintptr_t" => return (8, 8),
            _ => {}
        }
        if let Some(tag) = ty.strip_prefix("struct ") {
            let s = self.structs.iter().find(|s| s.name == tag);
            let s = s.unwrap_or_else(|| panic!("struct {tag} is used before it is defined"));
            return (s.size, s.align);
        }
        match self.typedefs.iter().find(|(n, _)| n == ty) {
            Some((_, Typedef::Alias(t))) => self.layout(t),
            Some((_, Typedef::FnPtr { .. })) => (8, 8),
            None => panic!("tests/manifest: teach it the size of `{ty}`"),
        }
    }

    fn to_json(&self, version: &str) -> String {
        let mut j = String::new();
        j.push_str("{\n");
        writeln!(j, "  \"version\": {},", s(version)).unwrap();
        writeln!(j, "  \"layout\": \"x86_64 Linux (LP64)\",").unwrap();
        let constants: Vec<String> = self
            .constants
            .iter()
            .map(|(n, v)| format!("{{\"name\": {}, \"value\": {v}}}", s(n)))
            .collect();
        section(&mut j, "constants", '[', &constants);
        let enums: Vec<String> = self
            .enums
            .iter()
            .map(|(n, names)| format!("{}: [{}]", s(n), list(names.iter().map(|c| s(c)))))
            .collect();
        section(&mut j, "enums", '{', &enums);
        let typedefs: Vec<String> = self
            .typedefs
            .iter()
            .map(|(n, t)| match t {
                Typedef::Alias(ty) => format!("{}: {{\"type\": {}}}", s(n), s(ty)),
                Typedef::FnPtr { returns, params } => {
                    let types = params.iter().map(|p| p.ty.as_str()).collect::<Vec<_>>();
                    let ty = format!("{returns} (*)({})", types.join(", "));
                    format!(
                        "{}: {{\"type\": {}, \"returns\": {}, \"params\": [{}]}}",
                        s(n),
                        s(&ty),
                        s(returns),
                        param_list(params)
                    )
                }
            })
            .collect();
        section(&mut j, "typedefs", '{', &typedefs);
        let structs: Vec<String> = self
            .structs
            .iter()
            .map(|st| {
                let fields = st.fields.iter().map(|f| {
                    format!(
                        "{{\"name\": {}, \"type\": {}, \"offset\": {}}}",
                        s(&f.name),
                        s(&f.ty),
                        f.offset
                    )
                });
                format!(
                    "{{\"name\": {}, \"size\": {}, \"fields\": [{}]}}",
                    s(&st.name),
                    st.size,
                    list(fields)
                )
            })
            .collect();
        section(&mut j, "structs", '[', &structs);
        let functions: Vec<String> = self
            .functions
            .iter()
            .map(|f| {
                format!(
                    "{{\"name\": {}, \"returns\": {}, \"params\": [{}]}}",
                    s(&f.name),
                    s(&f.returns),
                    param_list(&f.params)
                )
            })
            .collect();
        section(&mut j, "functions", '[', &functions);
        // The last section has no comma after it.
        let end = j.trim_end().trim_end_matches(',').len();
        j.truncate(end);
        j.push_str("\n}\n");
        j
    }
}

/// A JSON string (the header's names and types need no escapes but quotes and backslashes).
fn s(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn list(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

fn param_list(params: &[Param]) -> String {
    list(
        params
            .iter()
            .map(|p| format!("{{\"name\": {}, \"type\": {}}}", s(&p.name), s(&p.ty))),
    )
}

/// `"key": [` or `{`, one item a line, closed, with a comma after.
fn section(j: &mut String, key: &str, open: char, items: &[String]) {
    let close = if open == '[' { ']' } else { '}' };
    writeln!(j, "  \"{key}\": {open}").unwrap();
    for (i, item) in items.iter().enumerate() {
        let comma = if i + 1 < items.len() { "," } else { "" };
        writeln!(j, "    {item}{comma}").unwrap();
    }
    writeln!(j, "  {close},").unwrap();
}
