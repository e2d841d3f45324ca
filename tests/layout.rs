//! The shape of the source tree: the core modules (all but the `cli` and `tui` front ends)
//! import each other without a cycle, and never a front end.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const FRONT_ENDS: [&str; 2] = ["cli", "tui"];

/// Top-level module → the top-level modules its non-test code names as `crate::X`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(&src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let top = first.trim_end_matches(".rs").to_string();
            if top == "main" || top == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            // Tests may reach anywhere.
            let code = text.split("#[cfg(test)]").next().unwrap();
            let deps = out.entry(top.clone()).or_default();
            let mut names = Vec::new();
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                if let Some(list) = rest.strip_prefix('{') {
                    // use crate::{a::B, c, d::{e, f}}: the first name of each path.
                    let mut depth = 0;
                    let mut at_start = true;
                    let mut word = String::new();
                    for c in list.chars() {
                        match c {
                            '{' => depth += 1,
                            '}' if depth == 0 => break,
                            '}' => depth -= 1,
                            ',' if depth == 0 => at_start = true,
                            _ => {}
                        }
                        if at_start && (c.is_ascii_alphanumeric() || c == '_') {
                            word.push(c);
                        } else if !word.is_empty() {
                            names.push(std::mem::take(&mut word));
                            at_start = c == ',' && depth == 0;
                        }
                    }
                } else {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    names.push(name);
                }
            }
            for n in names {
                if !n.is_empty() && n != top && n != "self" {
                    deps.insert(n);
                }
            }
        }
    }
    out
}

#[test]
fn core_modules_form_no_cycle_and_never_import_a_front_end() {
    let all = imports();
    let core: BTreeMap<&String, &BTreeSet<String>> = all
        .iter()
        .filter(|(m, _)| !FRONT_ENDS.contains(&m.as_str()))
        .collect();
    assert!(core.len() > 10, "{core:?}");
    for (m, deps) in &core {
        for f in FRONT_ENDS {
            assert!(
                !deps.contains(f),
                "core module {m} imports the front end {f}"
            );
        }
    }
    // Depth-first search for a path back to where it started.
    fn reach(
        core: &BTreeMap<&String, &BTreeSet<String>>,
        from: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        for d in core
            .get(&from.to_string())
            .map(|s| s.iter())
            .into_iter()
            .flatten()
        {
            if let Some(i) = path.iter().position(|p| p == d) {
                let mut cycle = path[i..].to_vec();
                cycle.push(d.clone());
                return Some(cycle);
            }
            if done.contains(d) {
                continue;
            }
            path.push(d.clone());
            if let Some(c) = reach(core, d, path, done) {
                return Some(c);
            }
            path.pop();
            done.insert(d.clone());
        }
        None
    }
    for m in core.keys() {
        let mut path = vec![(*m).clone()];
        if let Some(cycle) = reach(&core, m, &mut path, &mut BTreeSet::new()) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
    // The leaves stay leaves.
    for leaf in ["secret", "target", "fsutil", "context", "version"] {
        assert!(
            core[&leaf.to_string()].is_empty(),
            "{leaf}: {:?}",
            core[&leaf.to_string()]
        );
    }
    assert_eq!(
        core[&"smtp_url".to_string()],
        &["finding", "secret"].map(String::from).into(),
    );
}
