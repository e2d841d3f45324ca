//! The README, CONTRIBUTING.md, ARCHITECTURE.md and the book under docs/ hold together: every
//! relative link leads to a file that exists (and every `#anchor` to a heading in it), every
//! page of the book is in its SUMMARY.md, and the README stays a front door.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The pages checked: the three at the top and every page of the book.
fn pages() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ["README.md", "CONTRIBUTING.md", "ARCHITECTURE.md"]
        .iter()
        .map(|p| root().join(p))
        .collect();
    let mut book: Vec<PathBuf> = std::fs::read_dir(root().join("docs/src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    book.sort();
    out.extend(book);
    out
}

/// A heading's anchor as GitHub and mdBook make it: lower case, letters, digits, `-` and
/// `_` kept, spaces made `-`, the rest dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The link and image targets of a page (code blocks and code spans are not links), and the
/// anchors of its headings.
fn read(text: &str) -> (Vec<String>, BTreeSet<String>) {
    let mut links = Vec::new();
    let mut anchors = BTreeSet::new();
    let mut heading: Option<String> = None;
    for event in Parser::new(text) {
        match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                links.push(dest_url.to_string())
            }
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(h) = heading.take() {
                    anchors.insert(slug(&h));
                }
            }
            _ => {}
        }
    }
    (links, anchors)
}

/// What is wrong with the links of `page` (its text given), one line each.
fn broken_links(page: &Path, text: &str) -> Vec<String> {
    let dir = page.parent().unwrap();
    let (links, own) = read(text);
    let mut out = Vec::new();
    for link in links {
        if link.contains("://") || link.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = match link.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (link.as_str(), None),
        };
        let target = if path.is_empty() {
            page.to_path_buf()
        } else {
            dir.join(path)
        };
        if !target.exists() {
            out.push(format!("{}: {link}: no such file", page.display()));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        let anchors = if path.is_empty() {
            own.clone()
        } else if target.extension().is_some_and(|e| e == "md") {
            read(&std::fs::read_to_string(&target).unwrap()).1
        } else {
            continue;
        };
        if !anchors.contains(anchor) {
            out.push(format!("{}: {link}: no such heading", page.display()));
        }
    }
    out
}

#[test]
fn every_relative_link_leads_somewhere() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        broken.extend(broken_links(&page, &text));
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_check_finds_a_missing_file_and_a_missing_heading() {
    let page = root().join("docs/src/introduction.md");
    let text = "# Here\n\n[ok](install.md) [ok](#here) [gone](no-such-page.md) \
                [wrong](install.md#no-such-heading) [own](#elsewhere) `[code](x.md)`\n\n\
                ```\n[block](y.md)\n```\n";
    let broken = broken_links(&page, text);
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(broken[0].ends_with("no-such-page.md: no such file"));
    assert!(broken[1].ends_with("install.md#no-such-heading: no such heading"));
    assert!(broken[2].ends_with("#elsewhere: no such heading"));
    assert_eq!(slug("Answers file and `apply`"), "answers-file-and-apply");
    assert_eq!(slug("\"Invalid Handle\""), "invalid-handle");
}

#[test]
fn every_page_of_the_book_is_in_its_summary() {
    let summary = std::fs::read_to_string(root().join("docs/src/SUMMARY.md")).unwrap();
    let (listed, _) = read(&summary);
    let listed: BTreeSet<String> = listed.into_iter().collect();
    for page in pages() {
        if !page.starts_with(root().join("docs/src")) {
            continue;
        }
        let name = page.file_name().unwrap().to_string_lossy().to_string();
        if name != "SUMMARY.md" {
            assert!(
                listed.contains(&name),
                "docs/src/SUMMARY.md does not list {name}"
            );
        }
    }
}

#[test]
fn the_readme_is_a_front_door() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 300,
        "README.md is {lines} lines: the rest belongs in docs/"
    );
    // The two commands, and the way to the book.
    assert!(readme.contains("scripts/demo") && readme.contains("scripts/test"));
    let (links, _) = read(&readme);
    assert!(
        links.iter().any(|l| l == "docs/src/SUMMARY.md"),
        "{links:?}"
    );
    // Headings of the top level only at the top: the rest is the book's.
    let top_level = Parser::new(&readme)
        .filter(|e| {
            matches!(
                e,
                Event::Start(Tag::Heading {
                    level: HeadingLevel::H1,
                    ..
                })
            )
        })
        .count();
    assert_eq!(top_level, 1);
}
