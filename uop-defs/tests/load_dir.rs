//! Loading a directory of `.uop` files.

mod common;

use std::fs;
use std::path::Path;

use uop_defs::load_dir;

/// Writes the test ABI into `dir` as `zz_abi.uop`, which sorts last.
fn write_abi(dir: &Path) {
    fs::write(dir.join("zz_abi.uop"), common::ABI_SRC).unwrap();
}

#[test]
fn loads_uop_files_sorted_and_skips_other_names_and_subdirectories() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("b.uop"), "uop b1( -- ) {}\n").unwrap();
    fs::write(
        dir.path().join("a.uop"),
        "uop a1( -- ) {}\nuop a2( -- ) {}\n",
    )
    .unwrap();
    fs::write(dir.path().join("notes.txt"), "uop x( -- ) {").unwrap();
    fs::create_dir(dir.path().join("nested")).unwrap();
    fs::write(dir.path().join("nested/c.uop"), "broken").unwrap();
    write_abi(dir.path());
    let defs = load_dir(dir.path()).unwrap();
    let files = &defs.files;
    assert_eq!(files.len(), 3);
    assert_eq!(files[0].path, dir.path().join("a.uop"));
    assert_eq!(files[1].path, dir.path().join("b.uop"));
    assert_eq!(files[2].path, dir.path().join("zz_abi.uop"));
    assert_eq!(defs.abi_path, files[2].path);
    assert_eq!(Some(&defs.abi), files[2].abi.as_ref());
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
    let defs = load_dir(Path::new("defs")).unwrap();
    assert_eq!(defs.files[0].path, Path::new("defs/abi.uop"));
    assert_eq!(defs.abi_path, Path::new("defs/abi.uop"));
    assert_eq!(defs.files[1].path, Path::new("defs/control.uop"));
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
    write_abi(dir.path());
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
    write_abi(dir.path());
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
}

#[test]
fn invalid_utf8_points_at_the_byte_in_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.uop");
    fs::write(&bad, b"uop a( -- ) {}\n\tuop b\xff\xfe( -- ) {}\n").unwrap();
    fs::write(dir.path().join("good.uop"), "uop g( -- ) {}").unwrap();
    let errors = load_dir(dir.path()).unwrap_err();
    assert_eq!(
        errors.to_string(),
        format!(
            "\
error: byte 0xff is not valid UTF-8; `.uop` files must be UTF-8 text: save the file as UTF-8
 --> {}:2:7
  |
2 | \tuop b\u{fffd}\u{fffd}( -- ) {{}}
  | \t     ^",
            bad.display()
        )
    );
}

/// The single error of loading `dir`, rendered.
fn only_error(dir: &Path) -> String {
    let errors = load_dir(dir).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors}");
    errors.to_string()
}

#[test]
fn a_directory_without_uop_files_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let expected = format!(
        "error: no `.uop` files in this directory (subdirectories are not searched); \
         give the directory that holds the uop definitions, such as uop-defs/defs\n --> {}",
        dir.path().display()
    );
    assert_eq!(only_error(dir.path()), expected);
    // The wrong directory: other files, and `.uop` files one level down.
    fs::write(dir.path().join("notes.txt"), "uop x( -- ) {}").unwrap();
    fs::create_dir(dir.path().join("defs")).unwrap();
    fs::write(dir.path().join("defs/a.uop"), "uop a( -- ) {}").unwrap();
    assert_eq!(only_error(dir.path()), expected);
}

#[test]
fn files_without_any_uop_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.uop"), "// Nothing yet.\n").unwrap();
    fs::write(dir.path().join("b.uop"), "prelude {}\nhelper h() -> i64;\n").unwrap();
    write_abi(dir.path());
    assert_eq!(
        only_error(dir.path()),
        format!(
            "error: the `.uop` files in this directory define no uop; \
             give the directory that holds the uop definitions, such as uop-defs/defs\n --> {}",
            dir.path().display()
        )
    );
}

#[test]
fn a_directory_named_like_a_uop_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.uop"), "uop a( -- ) {}").unwrap();
    fs::create_dir(dir.path().join("x.uop")).unwrap();
    assert_eq!(
        only_error(dir.path()),
        format!(
            "error: this `.uop` entry is a directory, not a file of uop definitions; \
             rename it or move it out of the definitions directory\n --> {}",
            dir.path().join("x.uop").display()
        )
    );
}

#[cfg(unix)]
#[test]
fn a_dangling_symlink_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.uop"), "uop a( -- ) {}").unwrap();
    let target = dir.path().join("gone.uop.orig");
    std::os::unix::fs::symlink(&target, dir.path().join("b.uop")).unwrap();
    assert_eq!(
        only_error(dir.path()),
        format!(
            "error: this `.uop` entry is a symbolic link to `{}`, which does not exist; \
             fix the link or remove it\n --> {}",
            target.display(),
            dir.path().join("b.uop").display()
        )
    );
    // A link to a file is read like the file.
    fs::write(&target, "uop b( -- ) {}").unwrap();
    write_abi(dir.path());
    let files = load_dir(dir.path()).unwrap().files;
    assert_eq!(files[1].uops[0].name, "b");
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_opening_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.uop"), "uop a( -- ) {}").unwrap();
    let fifo = dir.path().join("pipe.uop");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Opening the FIFO for reading would wait for a writer forever.
    let (send, receive) = std::sync::mpsc::channel();
    let path = dir.path().to_path_buf();
    std::thread::spawn(move || send.send(load_dir(&path).map(|_| ()).map_err(|e| e.to_string())));
    let result = receive
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("load_dir blocked on the FIFO");
    assert_eq!(
        result.unwrap_err(),
        format!(
            "error: this `.uop` entry is a named pipe (FIFO), not a regular file, and was not \
             opened; replace it with a regular file or remove it\n --> {}",
            fifo.display()
        )
    );
}

#[test]
fn carriage_return_only_files_load() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("mac.uop"),
        "// Old Mac OS line endings.\r/// Drops.\ruop drop(a -- ) {\r}\ruop nop( -- ) {}\r",
    )
    .unwrap();
    write_abi(dir.path());
    let files = load_dir(dir.path()).unwrap().files;
    let uops: Vec<_> = files[0]
        .uops
        .iter()
        .map(|u| (u.name.as_str(), u.doc.as_str(), u.span.line))
        .collect();
    assert_eq!(uops, [("drop", "Drops.", 3), ("nop", "", 5)]);
}
