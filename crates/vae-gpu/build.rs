//! Copies `shaders/*.wgsl` into `OUT_DIR` without their comment lines, each left as an empty line
//! so that a validation error's line number is the file's. The sources are compiled into the
//! binary, and in the page their comments (the math and buffer layout each file opens with, a
//! third or more of its bytes) would be downloaded by every visitor for nothing. The markers the
//! dense kernels are specialised at (`// unroll-begin`, `// unroll-end`, `// tiled-begin`,
//! `// tiled-end`) stay.

use std::path::Path;
use std::{env, fs};

fn main() {
    // Read when run, not built in: a build script compiled for one checkout may run for another.
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let shaders = Path::new(&manifest).join("../../shaders");
    // A directory: cargo reruns this when any file in it changes.
    println!("cargo:rerun-if-changed={}", shaders.display());
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("shaders");
    fs::create_dir_all(&out).expect("OUT_DIR is writable");
    for entry in fs::read_dir(&shaders).expect("the workspace's shaders/ folder") {
        let path = entry.expect("a readable shaders/ folder").path();
        if path.extension().is_none_or(|extension| extension != "wgsl") {
            continue;
        }
        let source = fs::read_to_string(&path).expect("a WGSL file in UTF-8");
        let stripped: String = source
            .split_inclusive('\n')
            .map(|line| {
                let code = line.trim_start();
                let marker = ["unroll-", "tiled-"]
                    .iter()
                    .any(|m| code.starts_with(&format!("// {m}")));
                if code.starts_with("//") && !marker {
                    &line[line.len() - usize::from(line.ends_with('\n'))..]
                } else {
                    line
                }
            })
            .collect();
        let name = path.file_name().expect("a file name");
        fs::write(out.join(name), stripped).expect("OUT_DIR is writable");
    }
}
