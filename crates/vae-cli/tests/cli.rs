//! The `vae` binary end to end, on the real adapter (lavapipe where there is no GPU): training on
//! a small binarized-MNIST-format folder made here, resuming (at a new learning rate),
//! evaluating, exporting compact weights, sampling, Ctrl-C, and the one-line errors bad input
//! must give.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn vae() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vae"));
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        command.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    command
}

fn run(args: &[&str]) -> Output {
    vae().args(args).output().expect("the vae binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh folder under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// binarized_mnist_{train,test}.amat with seeded random strokes: `train` and `test` images.
fn amat_folder(name: &str, train: usize, test: usize) -> PathBuf {
    let dir = scratch(name);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut bit = |p: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        if (state >> 33) % 100 < p {
            "1"
        } else {
            "0"
        }
    };
    for (part, count) in [("train", train), ("test", test)] {
        let mut lines = String::new();
        for image in 0..count {
            let row = 4 + image % 20;
            let pixels: Vec<&str> = (0..784)
                .map(|p| {
                    bit(if p / 28 == row || p % 28 == row {
                        80
                    } else {
                        3
                    })
                })
                .collect();
            lines.push_str(&pixels.join(" "));
            lines.push('\n');
        }
        std::fs::write(dir.join(format!("binarized_mnist_{part}.amat")), lines).unwrap();
    }
    dir
}

fn assert_one_line_error(output: &Output, contains: &str) {
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

#[test]
fn train_resume_eval_and_sample_on_binarized_mnist_files() {
    let data = amat_folder("cli-amat", 256, 64);
    let out = scratch("cli-run");
    let checkpoint = out.join("model.safetensors");
    let json = out.join("curve.json");
    let common = [
        "--data",
        data.to_str().unwrap(),
        "--batch",
        "32",
        "--hidden",
        "32",
        "--latent",
        "4",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ];
    let first = run(&[&["train", "--epochs", "1"], &common[..]].concat());
    assert!(first.status.success(), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    assert!(stdout.contains("epoch   1  step      8"), "{stdout}");
    assert!(checkpoint.exists());

    // Resuming goes on from step 8 to the end of epoch 2, at the new learning rate given.
    let resumed = [
        &[
            "train",
            "--epochs",
            "2",
            "--resume",
            checkpoint.to_str().unwrap(),
            "--lr",
            "0.0003",
        ],
        &common[..],
    ]
    .concat();
    let second = run(&resumed);
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert!(
        text(&second.stderr).contains("lr 0.0003"),
        "{}",
        text(&second.stderr)
    );
    assert!(
        text(&second.stdout).contains("epoch   2  step     16"),
        "{}",
        text(&second.stdout)
    );
    let curve = std::fs::read_to_string(&json).unwrap();
    assert!(curve.contains("\"epoch\": 2, \"step\": 16"), "{curve}");
    assert!(curve.contains("\"test_neg_elbo\""), "{curve}");

    // `vae eval` of the checkpoint on the data, with `extra` arguments: what it printed.
    let eval = |extra: &[&str]| {
        let mut args = vec!["eval", checkpoint.to_str().unwrap(), "--data"];
        args.extend([data.to_str().unwrap()].iter().chain(extra));
        let output = run(&args);
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let line = eval(&["--samples", "3"]);
    assert!(
        line.contains("test −ELBO") && line.contains("3 draws") && line.contains("on 64 images"),
        "{line}"
    );
    // The first 10 images alone; and more than there are: all 64, as without the flag.
    let ten = eval(&["--test-images", "10"]);
    assert!(ten.contains("on 10 images"), "{ten}");
    let (all, without) = (eval(&["--test-images", "1000"]), eval(&[]));
    assert!(all.contains("on 64 images"), "{all}");
    assert_eq!(neg_elbo_in(&all), neg_elbo_in(&without));
    export_and_check(&checkpoint, &data, &out);

    let pictures = out.join("pictures");
    let sample = run(&[
        "sample",
        checkpoint.to_str().unwrap(),
        "--out",
        pictures.to_str().unwrap(),
        "--grid",
        "4",
        "--sweep",
        "1",
        "3",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(sample.status.success(), "{}", text(&sample.stderr));
    for name in ["prior.png", "reconstructions.png", "sweep.png"] {
        let bytes = std::fs::read(pictures.join(name)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{name}");
    }
    // Latent 4 has no dimension 7.
    let bad_sweep = run(&[
        "sample",
        checkpoint.to_str().unwrap(),
        "--sweep",
        "0",
        "7",
        "--out",
        pictures.to_str().unwrap(),
    ]);
    assert_one_line_error(&bad_sweep, "--sweep 7");
}

#[test]
fn ctrl_c_saves_the_checkpoint_and_exits_cleanly() {
    let data = amat_folder("cli-ctrl-c", 256, 64);
    let out = scratch("cli-ctrl-c-run");
    let checkpoint = out.join("interrupted.safetensors");
    let mut child = vae()
        .args([
            "train",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "100000",
            "--batch",
            "32",
            "--hidden",
            "32",
            "--latent",
            "4",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.starts_with("training on"), "{line}");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "{status:?}: {rest}");
    assert!(rest.contains("interrupted at step"), "{rest}");
    let eval = run(&[
        "eval",
        checkpoint.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(eval.status.success(), "{}", text(&eval.stderr));
}

#[test]
fn bad_input_gives_one_clear_line_and_a_failing_exit() {
    let out = scratch("cli-errors");
    assert_one_line_error(
        &run(&["eval", "/nonexistent/model.safetensors"]),
        "/nonexistent/model.safetensors",
    );
    let junk = out.join("junk.safetensors");
    std::fs::write(&junk, b"these bytes are no checkpoint").unwrap();
    assert_one_line_error(
        &run(&["eval", junk.to_str().unwrap()]),
        "not a safetensors file",
    );
    assert_one_line_error(
        &run(&["train", "--data", "/nonexistent/data"]),
        "/nonexistent/data",
    );
    let empty = scratch("cli-empty-data");
    assert_one_line_error(
        &run(&["train", "--data", empty.to_str().unwrap()]),
        "no data found",
    );
    let data = amat_folder("cli-bad-amat", 4, 4);
    std::fs::write(data.join("binarized_mnist_test.amat"), "0 1 2\n").unwrap();
    assert_one_line_error(
        &run(&[
            "eval",
            junk.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ]),
        "not 0 or 1",
    );
    assert_one_line_error(
        &run(&[
            "train",
            "--batch",
            "0",
            "--epochs",
            "1",
            "--checkpoint",
            out.join("x").to_str().unwrap(),
        ]),
        "batch size 0",
    );
    assert_one_line_error(
        &run(&[
            "train",
            "--beta",
            "500",
            "--epochs",
            "1",
            "--checkpoint",
            out.join("x").to_str().unwrap(),
        ]),
        "KL weight β 500",
    );
    assert_one_line_error(
        &run(&["eval", junk.to_str().unwrap(), "--samples", "0"]),
        "--samples 0",
    );
    assert_one_line_error(
        &run(&["eval", junk.to_str().unwrap(), "--test-images", "0"]),
        "--test-images 0",
    );
    let exported = out.join("small.safetensors");
    assert_one_line_error(
        &run(&[
            "export",
            junk.to_str().unwrap(),
            "--out",
            exported.to_str().unwrap(),
        ]),
        "not a safetensors file",
    );
    assert!(!exported.exists(), "a failed export writes nothing");
}

/// The figure after "test −ELBO " in a line of output.
fn neg_elbo_in(output: &str) -> f64 {
    let after = output.split("test −ELBO ").nth(1).expect("a test −ELBO");
    after
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// `vae export` of `checkpoint`: half the width, its description, and a recorded test −ELBO that
/// `vae eval` measures of the exported file too.
fn export_and_check(checkpoint: &Path, data: &Path, out: &Path) {
    let compact = out.join("small.safetensors");
    let export = run(&[
        "export",
        checkpoint.to_str().unwrap(),
        "--out",
        compact.to_str().unwrap(),
        "--dtype",
        "bf16",
        "--data",
        data.to_str().unwrap(),
        "--samples",
        "2",
        "--note",
        "made by a test",
    ]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    let said = text(&export.stdout);
    assert!(
        said.contains("16 steps (2 epochs)")
            && said.contains("lr 0.0003")
            && said.contains("BF16; made by a test"),
        "{said}"
    );
    // Parameters alone at half the width: a sixth of the checkpoint, give or take the header.
    let (full, small) = (
        std::fs::metadata(checkpoint).unwrap().len(),
        std::fs::metadata(&compact).unwrap().len(),
    );
    assert!(small * 5 < full, "{small} vs {full} bytes");
    let eval = run(&[
        "eval",
        compact.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--samples",
        "2",
    ]);
    assert!(eval.status.success(), "{}", text(&eval.stderr));
    let (recorded, measured) = (neg_elbo_in(&said), neg_elbo_in(&text(&eval.stdout)));
    assert!(
        (recorded - measured).abs() < 1e-3,
        "{recorded} vs {measured}"
    );
}

#[test]
fn train_on_the_cpu_then_resume_on_the_gpu_from_its_checkpoint() {
    let data = amat_folder("cli-cpu-amat", 256, 64);
    let out = scratch("cli-cpu-run");
    let checkpoint = out.join("model.safetensors");
    let common = [
        "--data",
        data.to_str().unwrap(),
        "--batch",
        "32",
        "--hidden",
        "32",
        "--latent",
        "4",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
    ];
    let cpu = run(&[&["train", "--epochs", "1", "--backend", "cpu"], &common[..]].concat());
    assert!(cpu.status.success(), "{}", text(&cpu.stderr));
    assert!(
        text(&cpu.stderr).contains("the CPU engine"),
        "{}",
        text(&cpu.stderr)
    );
    assert!(
        text(&cpu.stdout).contains("epoch   1  step      8"),
        "{}",
        text(&cpu.stdout)
    );
    // The same file format: the GPU engine goes on where the CPU stopped, and back.
    let resume = ["--resume", checkpoint.to_str().unwrap()];
    let gpu = run(&[&["train", "--epochs", "2"], &resume[..], &common[..]].concat());
    assert!(gpu.status.success(), "{}", text(&gpu.stderr));
    assert!(
        text(&gpu.stdout).contains("epoch   2  step     16"),
        "{}",
        text(&gpu.stdout)
    );
    let back = run(&[
        &["train", "--epochs", "3", "--backend", "cpu"],
        &resume[..],
        &common[..],
    ]
    .concat());
    assert!(back.status.success(), "{}", text(&back.stderr));
    assert!(
        text(&back.stdout).contains("epoch   3  step     24"),
        "{}",
        text(&back.stdout)
    );
    let bad = run(&["train", "--backend", "cpu", "--batch", "0"]);
    assert_one_line_error(&bad, "batch size 0");
}

#[test]
fn bench_times_the_cpu_engine_without_a_gpu() {
    let out = run(&[
        "bench",
        "--backend",
        "cpu",
        "--seconds",
        "0.2",
        "--python",
        "none",
        "--data",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/mnist.shard.gz"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("CPU engine (") && stdout.contains("ms/step"),
        "{stdout}"
    );
}
