//! The shape of the source tree. The core crate (`crates/core`) cannot import a front end:
//! it does not depend on the package that holds them, so the compiler keeps that boundary.
//! What the compiler allows and this test refuses: a cycle among the core's top-level
//! modules, and a leaf that stops being one.
//!
//! Every file is parsed with `syn` (no text scanning): every path in non-test code is
//! resolved against the module it is written in (`crate::`, `self::`, `super::`, through
//! inline modules too), and items under `#[cfg(test)]` are skipped wherever they are. Paths
//! inside a macro's body (`tokio::select! { … }`) are not seen: macros are not expanded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

/// The module path of a file under `src` (`doctor/checks.rs` → ["doctor", "checks"]).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Collects, for the file's module, the absolute module paths its code names.
struct Paths<'a> {
    module: Vec<String>,
    crate_modules: &'a BTreeSet<String>,
    found: BTreeSet<Vec<String>>,
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

impl Paths<'_> {
    /// `segments` as written, resolved to an absolute path; None for another crate's.
    fn resolve(&self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" | "super" => self.module.clone(),
            // A bare name that is a top-level module (2018 paths inside the crate root).
            name if self.module.is_empty() && self.crate_modules.contains(name) => {
                return Some(segments.to_vec())
            }
            _ => return None,
        };
        let mut rest = &segments[1..];
        if first == "super" {
            base.pop()?;
        }
        while let Some(s) = rest.first() {
            match s.as_str() {
                "super" => {
                    base.pop()?;
                }
                "self" => {}
                _ => break,
            }
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn note(&mut self, segments: Vec<String>) {
        if let Some(p) = self.resolve(&segments) {
            self.found.insert(p);
        }
    }

    fn use_tree(&mut self, prefix: Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                let mut next = prefix;
                next.push(p.ident.to_string());
                self.use_tree(next, &p.tree);
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix;
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                self.note(full);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix;
                full.push(r.ident.to_string());
                self.note(full);
            }
            syn::UseTree::Glob(_) => self.note(prefix),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix.clone(), t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Trait(t) => &t.attrs,
            syn::Item::Type(t) => &t.attrs,
            syn::Item::Macro(m) => &m.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if is_test_only(attrs) {
            return;
        }
        match item {
            syn::Item::Mod(m) if m.content.is_some() => {
                self.module.push(m.ident.to_string());
                syn::visit::visit_item_mod(self, m);
                self.module.pop();
            }
            syn::Item::Use(u) => self.use_tree(Vec::new(), &u.tree),
            _ => syn::visit::visit_item(self, item),
        }
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let test = match item {
            syn::ImplItem::Fn(f) => is_test_only(&f.attrs),
            syn::ImplItem::Const(c) => is_test_only(&c.attrs),
            _ => false,
        };
        if !test {
            syn::visit::visit_impl_item(self, item);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.note(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Module (its path cut to `depth` names) → the modules (cut the same way) its non-test code
/// names, itself left out.
fn imports(src: &Path, within: &[&str], depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    imports_by(src, |p| {
        (p.len() > within.len() && p[..within.len()] == *within && p.len() >= depth)
            .then(|| p[..depth].join("::"))
    })
}

/// Module → the modules its non-test code names, itself left out; `node` says which node a
/// path (a file's module, or a path named in it) belongs to, None for one outside the graph.
fn imports_by(
    src: &Path,
    node: impl Fn(&[String]) -> Option<String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let tops: BTreeSet<String> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            p.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(src) {
        let module = module_of(src, &file);
        let Some(me) = node(&module) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if is_test_only(&ast.attrs) {
            continue;
        }
        let mut paths = Paths {
            module: module.clone(),
            crate_modules: &tops,
            found: BTreeSet::new(),
        };
        paths.visit_file(&ast);
        let deps = out.entry(me.clone()).or_default();
        for p in paths.found {
            if let Some(d) = node(&p).filter(|d| *d != me) {
                deps.insert(d);
            }
        }
    }
    out
}

/// The first cycle found, as the path that closes it.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn reach(
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        let from = path.last().unwrap().clone();
        for d in graph.get(&from).into_iter().flatten() {
            if let Some(i) = path.iter().position(|p| p == d) {
                let mut c = path[i..].to_vec();
                c.push(d.clone());
                return Some(c);
            }
            if done.contains(d) {
                continue;
            }
            path.push(d.clone());
            if let Some(c) = reach(graph, path, done) {
                return Some(c);
            }
            path.pop();
            done.insert(d.clone());
        }
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| reach(graph, &mut vec![m.clone()], &mut done))
}

fn core_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/core/src")
}

#[test]
fn core_modules_form_no_cycle() {
    let core = imports(&core_src(), &[], 1);
    assert!(core.len() > 10, "{core:?}");
    if let Some(c) = cycle(&core) {
        panic!("import cycle in the core: {}", c.join(" -> "));
    }
    // The leaves stay leaves.
    for leaf in [
        "secret", "target", "fsutil", "context", "version", "template",
    ] {
        assert!(core[leaf].is_empty(), "{leaf}: {:?}", core[leaf]);
    }
    assert_eq!(
        core["smtp_url"],
        ["finding", "secret"].map(String::from).into()
    );
}

/// The scan sees what the old text scanner missed: code after a first `#[cfg(test)]`, a
/// `super::` path out of a top-level file, a path through an inline module; and it skips
/// test-only items wherever they are.
#[test]
fn the_scan_resolves_paths_and_skips_only_test_code() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |name: &str, text: &str| {
        let p = src.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "lib.rs",
        "pub mod a; pub mod b; pub mod c; pub mod d; pub mod e;",
    );
    write(
        "a.rs",
        "#[cfg(test)] mod tests { use crate::b; }\npub fn late() { super::c::f(); }",
    );
    write("b/mod.rs", "mod inner { use super::super::d::X; }");
    write(
        "c.rs",
        "pub fn f() {}\n#[cfg(test)] impl S { fn t() { crate::e::g(); } }\nimpl S { #[cfg(test)] fn u() { crate::e::g(); } }",
    );
    write("d.rs", "use crate::{a::late, e::{self, g}};");
    write("e.rs", "pub fn g() {}");
    let graph = imports(src, &[], 1);
    let deps = |m: &str| graph[m].iter().cloned().collect::<Vec<_>>();
    assert_eq!(deps("a"), ["c"]);
    assert_eq!(deps("b"), ["d"]);
    assert!(deps("c").is_empty(), "{:?}", deps("c"));
    assert_eq!(deps("d"), ["a", "e"]);
    assert_eq!(cycle(&graph), None);
    write("e.rs", "pub fn g() { crate::d::h() }");
    assert_eq!(
        cycle(&imports(src, &[], 1)).map(|c| c.join(" -> ")),
        Some("d -> e -> d".to_string())
    );
}

/// The TUI's parts, each a node: every top-level module of `tui` (a directory is one: the
/// app's files are one room), and each step under `tui/steps/` on its own; the tests
/// left out.
fn tui_node(p: &[String]) -> Option<String> {
    let steps = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui/steps");
    match p {
        [t, ..] if t != "tui" => None,
        [_] => Some("tui".into()),
        [_, tests, ..] if tests == "tests" => None,
        [_, dir, step, ..]
            if dir == "steps"
                && (steps.join(format!("{step}.rs")).exists() || steps.join(step).is_dir()) =>
        {
            Some(format!("tui::steps::{step}"))
        }
        [_, m, ..] => Some(format!("tui::{m}")),
        [] => None,
    }
}

/// The wizard's parts import each other without a cycle: tickets and tasks, outcomes, steps,
/// routes and pop-up types are leaves the steps import; each step knows only its own jobs
/// and results (never the app's messages, which carry every step's); the app, the frame and
/// the runner sit above them.
#[test]
fn tui_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let tui = imports_by(&src, tui_node);
    assert!(tui.len() > 15, "{tui:?}");
    if let Some(c) = cycle(&tui) {
        panic!("import cycle in the TUI: {}", c.join(" -> "));
    }
    // No step reaches up to the app, the frame, the runner or the app's messages (Review
    // draws the whole change, from the app's state).
    for (m, deps) in &tui {
        if m.starts_with("tui::steps::") && m != "tui::steps::review" {
            for up in ["tui::app", "tui::frame", "tui::effects", "tui::msg", "tui"] {
                assert!(!deps.contains(up), "{m} imports {up}: {deps:?}");
            }
        }
    }
    for leaf in [
        "tui::msg",
        "tui::route",
        "tui::step",
        "tui::modal",
        "tui::jobs",
        "tui::outcome",
        "tui::keys",
    ] {
        for up in ["tui::app", "tui::frame", "tui::effects", "tui"] {
            assert!(
                !tui[leaf].contains(up),
                "{leaf} imports {up}: {:?}",
                tui[leaf]
            );
        }
    }
}

/// Rooms a newcomer can read: no file of the core or the TUI over 800 lines of code (its
/// tests, after the first `#[cfg(test)]`, aside), and the app's routing under 500.
#[test]
fn no_room_is_too_big() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut big = Vec::new();
    for dir in ["crates/core/src", "src/tui"] {
        for file in rust_files(&root.join(dir)) {
            if file.components().any(|c| c.as_os_str() == "tests") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text
                .lines()
                .take_while(|l| !l.starts_with("#[cfg(test)]"))
                .count();
            let limit = if file.ends_with("src/tui/app/mod.rs") {
                500
            } else {
                800
            };
            if code > limit {
                big.push(format!(
                    "{}: {code} lines (at most {limit})",
                    file.display()
                ));
            }
        }
    }
    assert!(big.is_empty(), "{big:#?}");
}
