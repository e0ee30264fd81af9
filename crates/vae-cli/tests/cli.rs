//! The `vae` binary end to end, on the real adapter (lavapipe where there is no GPU): training on
//! a small binarized-MNIST-format folder made here, resuming (at a new learning rate),
//! evaluating, exporting compact weights, sampling, Ctrl-C, and the one-line errors bad input
//! must give.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{assert_one_line_error, assert_says, run, scratch, succeed, vae};

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

#[test]
fn train_resume_eval_and_sample_on_binarized_mnist_files() {
    let data = amat_folder("cli-amat", 256, 64);
    let out = scratch("cli-run");
    let (checkpoint, json) = (out.join("model.safetensors"), out.join("curve.json"));
    let common = "--data {} --batch 32 --hidden 32 --latent 4 --checkpoint {} --json {}";
    let paths = [&*data, &checkpoint, &json];
    let (stdout, _) = succeed(&format!("train --epochs 1 {common}"), &paths);
    assert_says(&stdout, "epoch   1  step      8");
    assert!(checkpoint.exists());

    // Resuming goes on from step 8 to the end of epoch 2, at the new learning rate given.
    let resume = format!("train --epochs 2 --resume {{}} --lr 0.0003 {common}");
    let (stdout, stderr) = succeed(&resume, &[&checkpoint, &data, &checkpoint, &json]);
    assert_says(&stderr, "lr 0.0003");
    assert_says(&stdout, "epoch   2  step     16");
    let curve = std::fs::read_to_string(&json).unwrap();
    assert_says(&curve, "\"epoch\": 2, \"step\": 16");
    assert_says(&curve, "\"test_neg_elbo\"");

    // `vae eval` of the checkpoint on the data, with `extra` arguments: what it printed.
    let eval = |extra: &str| {
        succeed(
            &format!("eval {{}} --data {{}} {extra}"),
            &[&checkpoint, &data],
        )
        .0
    };
    let line = eval("--samples 3");
    assert!(
        line.contains("test −ELBO") && line.contains("3 draws") && line.contains("on 64 images"),
        "{line}"
    );
    // The first 10 images alone; and more than there are: all 64, as without the flag.
    assert_says(&eval("--test-images 10"), "on 10 images");
    let (all, without) = (eval("--test-images 1000"), eval(""));
    assert_says(&all, "on 64 images");
    assert_eq!(neg_elbo_in(&all), neg_elbo_in(&without));
    // The importance-weighted bound: with one draw it is the ELBO printed above it; with 8 the
    // two engines give the same figure (each checked against the reference in its own tests).
    let one = eval("--iw-samples 1 --test-images 20");
    assert!(
        (figure_after(&one, "−L_1 = ") - neg_elbo_in(&one)).abs() < 1e-3,
        "{one}"
    );
    let (gpu, cpu) = (
        eval("--iw-samples 8 --test-images 20"),
        eval("--iw-samples 8 --test-images 20 --backend cpu"),
    );
    let (on_gpu, on_cpu) = (figure_after(&gpu, "−L_8 = "), figure_after(&cpu, "−L_8 = "));
    assert!((on_gpu - on_cpu).abs() < 1e-3, "{gpu}\n{cpu}");
    assert_says(&cpu, "on the CPU engine");
    export_and_check(&checkpoint, &data, &out);

    let pictures = out.join("pictures");
    let sample = "sample {} --out {} --grid 4 --sweep 1 3 --data {}";
    succeed(sample, &[&checkpoint, &pictures, &data]);
    for name in ["prior.png", "reconstructions.png", "sweep.png"] {
        let bytes = std::fs::read(pictures.join(name)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{name}");
    }
    // Latent 4 has no dimension 7.
    let bad_sweep = run("sample {} --sweep 0 7 --out {}", &[&checkpoint, &pictures]);
    assert_one_line_error(&bad_sweep, "--sweep 7");
}

/// A child process killed when the test is done with it, failed or not: a training run told to
/// go on for 100,000 epochs must not outlive a failed assertion (one that did went on writing
/// its checkpoint beside the next run's, which then found its own file renamed away).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn ctrl_c_saves_the_checkpoint_and_exits_cleanly() {
    let data = amat_folder("cli-ctrl-c", 256, 64);
    let out = scratch("cli-ctrl-c-run");
    let checkpoint = out.join("interrupted.safetensors");
    let mut child = KillOnDrop(
        vae()
            .args(["train", "--data"])
            .arg(&data)
            .args([
                "--epochs", "100000", "--batch", "32", "--hidden", "32", "--latent", "4",
            ])
            .arg("--checkpoint")
            .arg(&checkpoint)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.starts_with("training on"), "{line}");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.0.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "{status:?}: {rest}");
    assert!(rest.contains("interrupted at step"), "{rest}");
    succeed("eval {} --data {}", &[&checkpoint, &data]);
}

#[test]
fn bad_input_gives_one_clear_line_and_a_failing_exit() {
    let out = scratch("cli-errors");
    let missing = Path::new("/nonexistent/model.safetensors");
    assert_one_line_error(
        &run("eval {}", &[missing]),
        "/nonexistent/model.safetensors",
    );
    let junk = out.join("junk.safetensors");
    std::fs::write(&junk, b"these bytes are no checkpoint").unwrap();
    assert_one_line_error(&run("eval {}", &[&junk]), "not a safetensors file");
    let no_data = Path::new("/nonexistent/data");
    assert_one_line_error(&run("train --data {}", &[no_data]), "/nonexistent/data");
    let empty = scratch("cli-empty-data");
    assert_one_line_error(&run("train --data {}", &[&empty]), "no data found");
    let data = amat_folder("cli-bad-amat", 4, 4);
    std::fs::write(data.join("binarized_mnist_test.amat"), "0 1 2\n").unwrap();
    assert_one_line_error(&run("eval {} --data {}", &[&junk, &data]), "not 0 or 1");
    let x = out.join("x");
    let train = |settings: &str| {
        run(
            &format!("train {settings} --epochs 1 --checkpoint {{}}"),
            &[&x],
        )
    };
    assert_one_line_error(&train("--batch 0"), "batch size 0");
    assert_one_line_error(&train("--beta 500"), "KL weight β 500");
    assert_one_line_error(&train("--iw-samples 0"), "importance samples K = 0");
    let iwae_with_beta = train("--iw-samples 5 --beta 0.5");
    assert_one_line_error(&iwae_with_beta, "the IWAE objective has no β");
    assert_one_line_error(&run("eval {} --samples 0", &[&junk]), "--samples 0");
    let no_draws = run("eval {} --iw-samples 0", &[&junk]);
    assert_one_line_error(&no_draws, "--iw-samples 0 must be between 1");
    let no_images = run("eval {} --test-images 0", &[&junk]);
    assert_one_line_error(&no_images, "--test-images 0");
    let exported = out.join("small.safetensors");
    let export = run("export {} --out {}", &[&junk, &exported]);
    assert_one_line_error(&export, "not a safetensors file");
    assert!(!exported.exists(), "a failed export writes nothing");
}

/// The figure after "test −ELBO " in a line of output.
fn neg_elbo_in(output: &str) -> f64 {
    figure_after(output, "test −ELBO ")
}

/// The number printed right after `label`.
fn figure_after(output: &str, label: &str) -> f64 {
    let after = output
        .split(label)
        .nth(1)
        .unwrap_or_else(|| panic!("no {label:?} in {output}"));
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
    let export = "export {} --out {} --dtype bf16 --data {} --samples 2 --iw-samples 4 --note {}";
    let (said, _) = succeed(
        export,
        &[checkpoint, &compact, data, Path::new("made by a test")],
    );
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
    let (evaluated, _) = succeed("eval {} --data {} --samples 2", &[&compact, data]);
    let (recorded, measured) = (neg_elbo_in(&said), neg_elbo_in(&evaluated));
    assert!(
        (recorded - measured).abs() < 1e-3,
        "{recorded} vs {measured}"
    );
    // The bound it recorded is the one `vae eval` computes for the file.
    let (bound, _) = succeed("eval {} --data {} --iw-samples 4", &[&compact, data]);
    let (recorded, measured) = (
        figure_after(&said, "−L_4 = "),
        figure_after(&bound, "−L_4 = "),
    );
    assert!(
        (recorded - measured).abs() < 1e-3,
        "{recorded} vs {measured}"
    );
}

#[test]
fn iwae_trains_on_either_engine_and_its_checkpoint_keeps_k() {
    let data = amat_folder("cli-iwae-amat", 256, 64);
    let checkpoint = scratch("cli-iwae-run").join("model.safetensors");
    let common = "--data {} --batch 32 --hidden 32 --latent 4 --checkpoint {}";
    let paths = [&*data, &checkpoint];
    let first = format!("train --epochs 1 --backend cpu --iw-samples 3 {common}");
    let (stdout, stderr) = succeed(&first, &paths);
    assert_says(
        &stderr,
        "minimising the IWAE objective −L_3 (K = 3 draws per image)",
    );
    assert_says(&stdout, "epoch   1  step      8");
    // The GPU goes on with the file's K, whatever the flags say.
    let resume = [&checkpoint, &*data, &checkpoint];
    let (stdout, stderr) = succeed(&format!("train --epochs 2 --resume {{}} {common}"), &resume);
    assert_says(&stderr, "the IWAE objective −L_3");
    assert_says(&stdout, "epoch   2  step     16");
}

#[test]
fn train_on_the_cpu_then_resume_on_the_gpu_from_its_checkpoint() {
    let data = amat_folder("cli-cpu-amat", 256, 64);
    let checkpoint = scratch("cli-cpu-run").join("model.safetensors");
    let common = "--data {} --batch 32 --hidden 32 --latent 4 --checkpoint {}";
    let paths = [&*data, &checkpoint];
    let (stdout, stderr) = succeed(&format!("train --epochs 1 --backend cpu {common}"), &paths);
    assert_says(&stderr, "the CPU engine");
    assert_says(&stdout, "epoch   1  step      8");
    // The same file format: the GPU engine goes on where the CPU stopped, and back.
    let resume = [&checkpoint, &*data, &checkpoint];
    let (stdout, _) = succeed(&format!("train --epochs 2 --resume {{}} {common}"), &resume);
    assert_says(&stdout, "epoch   2  step     16");
    let back = format!("train --epochs 3 --backend cpu --resume {{}} {common}");
    assert_says(&succeed(&back, &resume).0, "epoch   3  step     24");
    let bad = run("train --backend cpu --batch 0", &[]);
    assert_one_line_error(&bad, "batch size 0");
}

#[test]
fn bench_times_the_cpu_engine_without_a_gpu() {
    let shard = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../web/mnist.shard.gz"
    ));
    let bench = "bench --backend cpu --seconds 0.2 --python none --iw-samples 3 --data {}";
    let (stdout, _) = succeed(bench, &[shard]);
    assert!(
        stdout.contains("CPU engine (") && stdout.contains("ms/step"),
        "{stdout}"
    );
    assert!(
        stdout.contains("batch 128, IWAE with K = 3)")
            && stdout.contains("the IWAE step (K = 3) takes")
            && stdout.contains("for 2.18× its FLOPs"),
        "{stdout}"
    );
}
