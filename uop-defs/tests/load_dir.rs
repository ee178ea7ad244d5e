//! Loading a directory of `.uop` files.

use std::fs;
use std::path::Path;

use uop_defs::load_dir;

#[test]
fn loads_uop_files_sorted_and_skips_others() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("b.uop"), "uop b1( -- ) {}\n").unwrap();
    fs::write(
        dir.path().join("a.uop"),
        "uop a1( -- ) {}\nuop a2( -- ) {}\n",
    )
    .unwrap();
    fs::write(dir.path().join("notes.txt"), "uop x( -- ) {").unwrap();
    fs::create_dir(dir.path().join("sub.uop")).unwrap();
    fs::create_dir(dir.path().join("nested")).unwrap();
    fs::write(dir.path().join("nested/c.uop"), "broken").unwrap();
    let files = load_dir(dir.path()).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].path, dir.path().join("a.uop"));
    assert_eq!(files[1].path, dir.path().join("b.uop"));
    let names: Vec<_> = files
        .iter()
        .flat_map(|f| &f.uops)
        .map(|u| u.name.as_str())
        .collect();
    assert_eq!(names, ["a1", "a2", "b1"]);
}

#[test]
fn paths_stay_relative() {
    // The crate's tests run in the crate directory.
    let files = load_dir(Path::new("defs")).unwrap();
    assert_eq!(files[0].path, Path::new("defs/control.uop"));
}

#[test]
fn duplicate_across_files_points_at_second_definition() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.uop"), "uop same( -- ) {}\n").unwrap();
    fs::write(
        dir.path().join("b.uop"),
        "uop other( -- ) {}\nuop same( -- ) {}\n",
    )
    .unwrap();
    let errors = load_dir(dir.path()).unwrap_err();
    let a = dir.path().join("a.uop");
    let b = dir.path().join("b.uop");
    assert_eq!(
        errors.to_string(),
        format!(
            "\
error: duplicate uop `same` (first defined at {}:1:5)
 --> {}:2:5
  |
2 | uop same( -- ) {{}}
  |     ^^^^",
            a.display(),
            b.display()
        )
    );
}

#[test]
fn errors_of_all_files_are_reported_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("b.uop"), "uop b( -- ) {\n").unwrap();
    fs::write(
        dir.path().join("a.uop"),
        "uop a(x y -- ) {}\nuop dup( -- ) {}\nuop dup( -- ) {}\n",
    )
    .unwrap();
    fs::write(dir.path().join("c.uop"), "uop dup( -- ) {}\n").unwrap();
    let errors = load_dir(dir.path()).unwrap_err();
    let summary: Vec<_> = errors
        .iter()
        .map(|d| {
            let file = d.path().file_name().unwrap().to_str().unwrap().to_string();
            (file, d.span().unwrap().line, d.message().to_string())
        })
        .collect();
    let a = dir.path().join("a.uop").display().to_string();
    assert_eq!(
        summary,
        [
            (
                "a.uop".to_string(),
                1,
                "expected `,` between stack values, found `y`".to_string()
            ),
            (
                "a.uop".to_string(),
                3,
                format!("duplicate uop `dup` (first defined at {a}:2:5)")
            ),
            (
                "b.uop".to_string(),
                1,
                "unclosed `{`: the body of uop `b` has no matching `}`".to_string()
            ),
            (
                "c.uop".to_string(),
                1,
                format!("duplicate uop `dup` (first defined at {a}:2:5)")
            ),
        ]
    );
}

#[test]
fn io_errors_are_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let errors = load_dir(&missing).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.errors()[0].path(), missing);
    assert!(errors.errors()[0].span().is_none());
    let text = errors.to_string();
    assert!(
        text.starts_with("error: cannot read directory: ")
            && text.ends_with(&format!("\n --> {}", missing.display())),
        "{text}"
    );

    fs::create_dir(&missing).unwrap();
    fs::write(missing.join("bad.uop"), b"uop \xff( -- ) {}").unwrap();
    fs::write(missing.join("good.uop"), "uop g( -- ) {}").unwrap();
    let errors = load_dir(&missing).unwrap_err();
    assert_eq!(
        errors.to_string(),
        format!(
            "error: file is not valid UTF-8 (first invalid byte at offset 4)\n --> {}",
            missing.join("bad.uop").display()
        )
    );
}

#[test]
fn empty_directory_has_no_files() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(load_dir(dir.path()).unwrap(), []);
}
