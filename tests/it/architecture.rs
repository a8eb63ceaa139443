//! ARCHITECTURE.md's arrows, held to the code: the `use crate::` lines of `src/` (and the
//! binaries' `use secret_deletion_alerts::`) make a graph between top-level modules; it has no
//! cycle, and it is exactly the one the map in ARCHITECTURE.md draws. A new import, or a new
//! module, changes the map in the same commit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The unit a file belongs to: the library's top-level module (`src/x.rs`, `src/x/...`), or
/// one of the binaries (`main` with its `cli/`, `bin/<name>`).
fn unit_of(relative: &Path) -> String {
    let parts: Vec<&str> = relative.iter().map(|p| p.to_str().unwrap()).collect();
    match parts.as_slice() {
        ["main.rs"] => "main".into(),
        ["cli", ..] => "cli".into(),
        ["bin", file] => format!("bin/{}", file.trim_end_matches(".rs")),
        [file] => file.trim_end_matches(".rs").into(),
        [dir, ..] => (*dir).into(),
        [] => unreachable!(),
    }
}

/// The code without its comments (doc comments name modules they do not import).
fn without_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| line.find("//").map_or(line, |at| &line[..at]))
        .collect::<Vec<_>>()
        .join("\n")
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The top-level names a path prefix reaches: `prefix::name...` and `prefix::{a, b::c, ..}`.
fn names_after(code: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = code[at + prefix.len()..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group: after `{` or a `,` at depth 0.
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        start = false;
                        names.push(identifier(&group[i..]).to_string());
                    }
                    _ => {}
                }
            }
        } else {
            names.push(identifier(rest).to_string());
        }
    }
    names.retain(|n| !n.is_empty() && n != "self" && n != "super");
    names
}

/// What the code imports, unit by unit.
fn imports_in_code() -> Graph {
    let src = project().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        // The library's root only declares the modules.
        if relative == Path::new("lib.rs") {
            continue;
        }
        let unit = unit_of(relative);
        let code = without_comments(&std::fs::read_to_string(&file).unwrap());
        let library = !(unit == "main" || unit == "cli" || unit.starts_with("bin/"));
        let mut reached = names_after(&code, "secret_deletion_alerts::");
        // In a binary, `crate::` is the binary itself; `main` declares `cli` (`mod cli;`).
        if library {
            reached.extend(names_after(&code, "crate::"));
        } else if unit == "main" && code.contains("mod cli;") {
            reached.push("cli".into());
        }
        let edges = graph.entry(unit.clone()).or_default();
        edges.extend(reached.into_iter().filter(|n| *n != unit));
    }
    graph
}

/// The map: the lines `unit -> a, b, c` of the block after "## The arrows".
fn arrows_in_map() -> Graph {
    let text = std::fs::read_to_string(project().join("ARCHITECTURE.md")).unwrap();
    let section = text
        .split("## The arrows")
        .nth(1)
        .expect("ARCHITECTURE.md has a section \"## The arrows\"");
    let block = section
        .split("```")
        .nth(1)
        .expect("the arrows are in a code block");
    let mut graph = Graph::new();
    for line in block.lines().filter(|l| l.contains("->")) {
        let (unit, targets) = line.split_once("->").unwrap();
        let targets = targets
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty() && *t != "(nothing)")
            .map(String::from);
        let previous = graph.insert(unit.trim().to_string(), targets.collect());
        assert!(previous.is_none(), "{} is drawn twice", unit.trim());
    }
    graph
}

/// A cycle in the graph, if there is one, as the path that closes it.
fn a_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        unit: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|u| u == unit) {
            let mut cycle = path[at..].to_vec();
            cycle.push(unit.to_string());
            return Some(cycle);
        }
        if done.contains(unit) {
            return None;
        }
        path.push(unit.to_string());
        for next in graph.get(unit).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(unit.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|unit| visit(unit, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_two_modules_import_each_other_even_through_others() {
    let code = imports_in_code();
    assert_eq!(a_cycle(&code), None, "a cycle between top-level modules");
}

#[test]
fn every_import_is_an_arrow_of_the_map_and_every_arrow_an_import() {
    let code = imports_in_code();
    let map = arrows_in_map();
    let mut wrong = Vec::new();
    for (unit, imports) in &code {
        let Some(allowed) = map.get(unit) else {
            wrong.push(format!("{unit} is not on the map"));
            continue;
        };
        for import in imports.difference(allowed) {
            wrong.push(format!("{unit} -> {import} is not allowed by the map"));
        }
        for arrow in allowed.difference(imports) {
            wrong.push(format!(
                "{unit} -> {arrow} is drawn, but the code has no such import"
            ));
        }
    }
    for unit in map.keys().filter(|u| !code.contains_key(*u)) {
        wrong.push(format!("{unit} is on the map but not in src/"));
    }
    assert!(
        wrong.is_empty(),
        "ARCHITECTURE.md's arrows:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_reader_of_imports_sees_groups_paths_and_not_comments() {
    let code = without_comments(
        "use crate::{alert::Alert, ids::{AccountId, SecretId}, region};\n\
         // use crate::handler;\n\
         let x = crate::window::decide(); fn f() -> my_crate::other {}",
    );
    assert_eq!(
        names_after(&code, "crate::"),
        ["alert", "ids", "region", "window"]
    );
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(from, to)| (from.to_string(), BTreeSet::from([to.to_string()])))
        .collect();
    assert_eq!(
        a_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

/// The files the map names: its code block as a tree, two spaces a level, a folder ending in
/// `/`, a file ending in `.rs`; continuation lines (descriptions) name nothing.
fn files_on_the_map(map: &str) -> BTreeSet<String> {
    let block = map
        .split("## The map")
        .nth(1)
        .and_then(|rest| rest.split("```").nth(1))
        .unwrap();
    let mut folders: Vec<(usize, String)> = Vec::new();
    let mut files = BTreeSet::new();
    for line in block.lines() {
        let indent = line.len() - line.trim_start().len();
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if !(name.ends_with('/') || name.ends_with(".rs")) {
            continue;
        }
        while folders.last().is_some_and(|(at, _)| *at >= indent) {
            folders.pop();
        }
        let path: String = folders.iter().map(|(_, f)| f.as_str()).collect::<String>() + name;
        if name.ends_with('/') {
            folders.push((indent, name.to_owned()));
        } else {
            files.insert(path);
        }
    }
    files
}

#[test]
fn the_map_names_every_file_of_src_and_only_those() {
    let map = std::fs::read_to_string(project().join("ARCHITECTURE.md")).unwrap();
    let on_the_map = files_on_the_map(&map);
    let mut found = Vec::new();
    rust_files(&project().join("src"), &mut found);
    let in_src: BTreeSet<String> = found
        .iter()
        .map(|path| {
            let relative = path.strip_prefix(project()).unwrap();
            relative.to_str().unwrap().replace('\\', "/")
        })
        .collect();
    let missing: Vec<&String> = in_src.difference(&on_the_map).collect();
    let stale: Vec<&String> = on_the_map.difference(&in_src).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "ARCHITECTURE.md's map: not on it {missing:?}; on it but not in src/ {stale:?}"
    );
}
