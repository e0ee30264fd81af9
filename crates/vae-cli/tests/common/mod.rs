//! What the CLI's tests share: running the `vae` binary and reading what it said.

#![allow(dead_code)] // each test file uses its own share of these

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn vae() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vae"));
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        command.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    command
}

/// `vae` with `line`'s words, each `{}` the next of `paths` (a path or note may hold spaces).
pub fn run(line: &str, paths: &[&Path]) -> Output {
    let mut paths = paths.iter();
    let args: Vec<&OsStr> = line
        .split_whitespace()
        .map(|word| match word {
            "{}" => paths.next().expect("a path for each {}").as_os_str(),
            word => OsStr::new(word),
        })
        .collect();
    vae().args(args).output().expect("the vae binary runs")
}

/// [`run`], which must succeed: its stdout and stderr.
pub fn succeed(line: &str, paths: &[&Path]) -> (String, String) {
    let output = run(line, paths);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{line}: {stderr}");
    (stdout, stderr)
}

pub fn assert_says(output: &str, what: &str) {
    assert!(output.contains(what), "no {what:?} in {output}");
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh folder under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn assert_one_line_error(output: &Output, contains: &str) {
    assert!(!output.status.success(), "should have failed");
    let stderr = text(&output.stderr);
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(contains), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
