//! The `vm` command line: results, stats and errors with exit code 1.

use std::process::{Command, Output};

mod common;

fn vm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vm"))
        .args(args)
        .output()
        .expect("run vm")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_program(dir: &tempfile::TempDir, name: &str, source: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, source).unwrap();
    path
}

#[test]
fn runs_in_both_modes() {
    let path = common::program_path("loop_sum");
    let path = path.to_str().unwrap();
    let o = vm(&["run", path, "100", "--interp"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "4950\n");
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        let o = vm(&["run", path, "n=100", "--jit"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "4950\n");
    }
    let o = vm(&["run", path, "--interp", "-5"]);
    assert_eq!(
        stdout(&o),
        "0\n",
        "negative values are arguments, not flags"
    );
}

#[test]
fn prints_float_results_and_stats() {
    let path = common::program_path("nbody");
    let o = vm(&[
        "run",
        path.to_str().unwrap(),
        "steps=0",
        "--interp",
        "--stats",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let energy: f64 = 0.5 * (0.001f64 * 0.001) + 0.5 * 0.001 - 0.001;
    let out = stdout(&o);
    let first = out.lines().next().unwrap();
    assert_eq!(
        first,
        format!("{} (f64: {energy:?})", energy.to_bits() as i64)
    );
    assert!(out.contains("\nmode: interp\n"), "{out}");
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[test]
fn stats_show_the_deopt() {
    let path = common::program_path("overflow");
    let o = vm(&["run", path.to_str().unwrap(), "1000", "10", "--stats"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some((i64::MIN + 9).to_string().as_str()));
    assert_eq!(lines.next(), Some("mode: jit"));
    assert!(
        lines.next().unwrap().starts_with("trace: 17 ops, "),
        "{out}"
    );
    assert_eq!(lines.next(), Some("deopts: 1"));
    let program = common::load("overflow");
    let pc = program.label("overflow").unwrap();
    let line = program.spans[pc as usize].line;
    let expect = format!("  {}:{line}:5: pc {pc} (`add_i64`): 1", path.display());
    assert_eq!(lines.next(), Some(expect.as_str()));
}

#[test]
fn errors_exit_with_1() {
    let o = vm(&["run", "/nonexistent/x.uasm"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: cannot read /nonexistent/x.uasm: "),
        "{}",
        stderr(&o)
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = temp_program(&dir, "bad.uasm", "push_small 1\nad_i64\nreturn\n");
    let o = vm(&["check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "{}:2:1: error: unknown uop `ad_i64`\n2 | ad_i64\n  | ^^^^^^\n",
            bad.display()
        )
    );

    let div = temp_program(
        &dir,
        "div.uasm",
        ".arg d 0\npush_small 7\nload_local d\ndiv_i64\nreturn\n",
    );
    let o = vm(&["run", div.to_str().unwrap(), "--interp"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "error: runtime error at {}:4:1: pc 2 (`div_i64`): division by zero\n",
            div.display()
        )
    );
    let o = vm(&["run", div.to_str().unwrap(), "d=2", "--interp"]);
    assert_eq!(stdout(&o), "3\n");
    let o = vm(&["run", div.to_str().unwrap(), "e=2"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: unknown argument `e`: the program takes d\n"
    );
}

#[test]
fn check_lists_pcs_and_depths() {
    let path = common::program_path("loop_sum");
    let o = vm(&["check", path.to_str().unwrap(), "--listing"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!(
            "{}: ok, 11 instructions, 3 locals, max stack depth 2\n",
            path.display()
        )),
        "{out}"
    );
    assert_eq!(out.lines().count(), 12);
    assert!(
        out.contains("    0  depth   0  line    6  jump @6\n"),
        "{out}"
    );
}

#[test]
fn huge_declarations_are_errors_not_aborts() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "locals.uasm",
            "; too many locals\n.locals 4294967295\npush_small 1\nreturn\n",
            "2:9: error: `.locals 4294967295` exceeds the limit of 1048576 locals\n\
             2 | .locals 4294967295\n  |         ^^^^^^^^^^\n",
        ),
        (
            "heap.uasm",
            ".heap 0xffffffffffffffff\npush_small 1\nreturn\n",
            "1:7: error: `.heap 0xffffffffffffffff` exceeds the limit of 134217728 cells\n\
             1 | .heap 0xffffffffffffffff\n  |       ^^^^^^^^^^^^^^^^^^\n",
        ),
    ];
    for (name, source, error) in cases {
        let path = temp_program(&dir, name, source);
        let path = path.to_str().unwrap();
        let mut modes = vec!["--interp"];
        if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
            modes.push("--jit");
        }
        for mode in modes {
            let o = vm(&["run", path, mode]);
            // A failed allocation would end the process with SIGABRT.
            assert_eq!(o.status.code(), Some(1), "{mode}: {}", stderr(&o));
            assert_eq!(stderr(&o), format!("{path}:{error}"), "{mode}");
            assert_eq!(stdout(&o), "");
        }
        let o = vm(&["check", path]);
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(stderr(&o), format!("{path}:{error}"));
    }
}

#[test]
fn invisible_characters_in_arguments_are_escaped() {
    let path = common::program_path("loop_sum");
    let o = vm(&[
        "run",
        path.to_str().unwrap(),
        "--interp",
        "n=1\x1b0\u{200b}",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: argument `n`: `1\\x1b0\\u{200b}` is not a valid number\n"
    );
}

#[test]
fn a_byte_that_is_not_utf8_is_an_error_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.uasm");
    // `é` in Latin-1 inside a comment, after a tab and a UTF-8 `∞`.
    std::fs::write(&path, b"push_small 1\n\treturn ; \xe2\x88\x9e caf\xe9\n").unwrap();
    for command in ["run", "check"] {
        let o = vm(&[command, path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(
            stderr(&o),
            format!(
                "{}:2:16: error: byte 0xe9 is not valid UTF-8; `.uasm` files must be UTF-8 \
                 text: save the file as UTF-8\n\
                 2 | \treturn ; ∞ caf\u{fffd}\n  \
                   | \t              ^\n",
                path.display()
            )
        );
        assert_eq!(stdout(&o), "");
    }
}
