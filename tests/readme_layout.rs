//! The README's "Parts" table names every module of every crate, so a newcomer can find a
//! file from it; a module added without a line there fails here.

use std::collections::BTreeSet;
use std::path::Path;

/// The text of the table rows of `krate`: its own row and the `| |` rows that continue it.
fn rows_of(readme: &str, krate: &str) -> String {
    let head = format!("| `{krate}` |");
    let mut rows = String::new();
    let mut inside = false;
    for line in readme.lines() {
        if line.starts_with(&head) {
            inside = true;
        } else if !line.starts_with("| |") {
            inside = false;
        }
        if inside {
            rows.push_str(line);
        }
    }
    assert!(
        !rows.is_empty(),
        "the README's Parts table has no row for `{krate}`"
    );
    rows
}

/// The module names in `dir`: its `.rs` files and its folders, without the files that are
/// not modules of their own (`lib.rs`, `mod.rs`, a sibling `tests.rs`).
fn modules_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let name = path.file_stem()?.to_str()?.to_owned();
            let module = path.is_dir() || path.extension().is_some_and(|e| e == "rs");
            (module && !["lib", "mod", "tests", "main"].contains(&name.as_str())).then_some(name)
        })
        .collect()
}

#[test]
fn the_parts_table_names_every_module_of_every_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    // (crate, folder inside its src, whether the row writes the names in backticks)
    let folders = [
        ("perf-core", "", true),
        ("perf-core", "regress", true),
        ("perf-core", "export", false),
        ("perf-core", "profile", false),
        ("perf-macros", "", true),
        ("perf-async", "", true),
        ("perf-llm", "", true),
        ("perf-load", "", true),
        ("perf-load", "llm", true),
    ];
    let mut missing = Vec::new();
    for (krate, folder, ticked) in folders {
        let rows = rows_of(&readme, krate);
        let dir = Path::new(krate).join("src").join(folder);
        for module in modules_in(&root.join(&dir)) {
            let named = match ticked {
                true => {
                    rows.contains(&format!("`{module}`")) || rows.contains(&format!("`{module}/`"))
                }
                false => rows.contains(&module),
            };
            if !named {
                missing.push(dir.join(module).display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "modules missing from the README's Parts table: {missing:?}"
    );
}
