//! Walks the shared corpus of BPMN files made by other tools: none may panic, each either loads
//! or is refused with a diagnostic that names an element and a line.

use std::path::{Path, PathBuf};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/bpmn-corpus");

fn bpmn_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the BPMN corpus at {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            bpmn_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "bpmn") {
            out.push(path);
        }
    }
}

#[test]
fn corpus_files_load_or_are_refused_with_a_position() {
    let root = Path::new(CORPUS);
    assert!(
        root.is_dir(),
        "the BPMN corpus is missing: expected it at {} (/work/shared/bpmn-corpus)",
        root.display()
    );
    let mut files = Vec::new();
    bpmn_files(root, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no .bpmn file under {}", root.display());

    let mut deployed = Vec::new();
    let mut refused = Vec::new();
    for path in &files {
        let name = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        let xml = std::fs::read(path).expect("readable corpus file");
        match motcua_definitions::load(&name, &xml) {
            Ok(processes) => {
                assert!(!processes.is_empty(), "{name}: loaded without a process");
                deployed.push(name);
            }
            Err(diags) => {
                let first = diags
                    .first()
                    .unwrap_or_else(|| panic!("{name}: refused without a diagnostic"));
                assert!(!first.element.is_empty(), "{name}: {first}");
                assert!(first.position.line > 0, "{name}: {first}");
                refused.push(format!("  {first}  (+{} more)", diags.0.len() - 1));
            }
        }
    }
    println!("corpus: {} of {} files deploy", deployed.len(), files.len());
    println!("deployed: {}", deployed.join(", "));
    println!("refused (first diagnostic of each):");
    for line in &refused {
        println!("{line}");
    }
}

#[test]
fn catalog_procedures_load() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/catalog"));
    let mut files = Vec::new();
    bpmn_files(dir, &mut files);
    for path in files {
        let xml = std::fs::read(&path).expect("readable catalog file");
        let name = path.display().to_string();
        if let Err(d) = motcua_definitions::load(&name, &xml) {
            panic!("a shipped procedure is refused:\n{d}");
        }
    }
}
