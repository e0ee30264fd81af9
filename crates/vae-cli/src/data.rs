//! Where `vae train` and `vae eval` get their images: the bundled shard (built into the binary),
//! another shard, the original MNIST IDX files, or the standard binarized MNIST (`.amat`). All
//! become a shard in memory, so the engine sees one format.

use std::path::{Path, PathBuf};

use mnist_shard::build::{build, BuildOptions, Source};
use mnist_shard::idx::{self, IdxImages};
use mnist_shard::{decompress, Shard};

/// The shard the web app ships: 50,000 training and 10,000 test images, binarised once.
const BUNDLED: &[u8] = include_bytes!("../../../web/mnist.shard.gz");

/// An uncompressed shard and where it came from.
pub struct Data {
    pub bytes: Vec<u8>,
    pub name: String,
}

impl Data {
    pub fn shard(&self) -> Result<Shard<'_>, String> {
        Shard::parse(&self.bytes, &self.name).map_err(|e| e.to_string())
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))
}

/// `None`: the bundled shard. A `.shard`/`.shard.gz` file; a folder with the IDX files
/// (`train-images-idx3-ubyte.gz` …); or a folder with `binarized_mnist_train.amat[.gz]` and
/// `binarized_mnist_test.amat[.gz]`, or either of those files itself.
pub fn load(path: Option<&Path>) -> Result<Data, String> {
    let Some(path) = path else {
        let bytes = decompress(BUNDLED, "bundled mnist.shard.gz")
            .map_err(|e| e.to_string())?
            .into_owned();
        return Ok(Data {
            bytes,
            name: "the bundled shard (web/mnist.shard.gz)".into(),
        });
    };
    let name = path.display().to_string();
    if path.is_dir() {
        if amat_file(path, "train").is_some() {
            return amat(path, &name);
        }
        if path.join("train-images-idx3-ubyte.gz").exists() {
            return idx_folder(path, &name);
        }
        return Err(format!(
            "{name}: no data found: expected binarized_mnist_train.amat[.gz] and \
             binarized_mnist_test.amat[.gz], or the MNIST IDX files (train-images-idx3-ubyte.gz, …)"
        ));
    }
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if file_name.contains(".amat") {
        let folder = path.parent().unwrap_or(Path::new("."));
        return amat(folder, &name);
    }
    let raw = read(path)?;
    let bytes = decompress(&raw, &name)
        .map_err(|e| e.to_string())?
        .into_owned();
    Shard::parse(&bytes, &name).map_err(|e| e.to_string())?;
    Ok(Data { bytes, name })
}

fn amat_file(folder: &Path, part: &str) -> Option<PathBuf> {
    ["amat", "amat.gz"]
        .iter()
        .map(|ext| folder.join(format!("binarized_mnist_{part}.{ext}")))
        .find(|path| path.exists())
}

/// Parses a binarized-MNIST `.amat` file: one image a line, 784 values of 0 or 1.
fn parse_amat(path: &Path) -> Result<IdxImages, String> {
    let name = path.display().to_string();
    let raw = read(path)?;
    let text = decompress(&raw, &name).map_err(|e| e.to_string())?;
    let text = std::str::from_utf8(&text).map_err(|_| format!("{name}: not a text file"))?;
    let mut pixels = Vec::with_capacity(text.len() / 2);
    let mut count = 0;
    for (line_number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let before = pixels.len();
        for value in line.split_ascii_whitespace() {
            // 255 is always on and 0 always off under the builder's binarisation: lossless.
            pixels.push(match value {
                "0" => 0u8,
                "1" => 255u8,
                other => {
                    return Err(format!(
                        "{name}: line {}: {other:?} is not 0 or 1",
                        line_number + 1
                    ))
                }
            });
        }
        if pixels.len() - before != 784 {
            return Err(format!(
                "{name}: line {} has {} values, an image has 784",
                line_number + 1,
                pixels.len() - before
            ));
        }
        count += 1;
    }
    if count == 0 {
        return Err(format!("{name}: no images"));
    }
    Ok(IdxImages {
        count,
        rows: 28,
        cols: 28,
        pixels,
    })
}

fn amat(folder: &Path, name: &str) -> Result<Data, String> {
    let missing = |part| format!("{}: no binarized_mnist_{part}.amat[.gz]", folder.display());
    let train = parse_amat(&amat_file(folder, "train").ok_or_else(|| missing("train"))?)?;
    let test = parse_amat(&amat_file(folder, "test").ok_or_else(|| missing("test"))?)?;
    // The .amat files carry no labels; the model needs none.
    let (train_labels, test_labels) = (vec![0u8; train.count], vec![0u8; test.count]);
    let bytes = build_shard((&train, &train_labels), (&test, &test_labels))?;
    Ok(Data {
        bytes,
        name: format!("binarized MNIST ({name})"),
    })
}

/// All of both parts in a shard; pixels binarised with seed 0 (0 and 255 stay 0 and 1).
fn build_shard(train: (&IdxImages, &[u8]), test: (&IdxImages, &[u8])) -> Result<Vec<u8>, String> {
    let options = BuildOptions {
        train_count: train.0.count,
        test_count: test.0.count,
        seed: 0,
    };
    let source = |(images, labels)| Source { images, labels };
    build(source(train), source(test), options).map_err(|e| e.to_string())
}

fn idx_folder(folder: &Path, name: &str) -> Result<Data, String> {
    let images = |file: &str| {
        let path = folder.join(file);
        idx::read_images(&read(&path)?, &path.display().to_string()).map_err(|e| e.to_string())
    };
    let labels = |file: &str| {
        let path = folder.join(file);
        idx::read_labels(&read(&path)?, &path.display().to_string()).map_err(|e| e.to_string())
    };
    let (train, train_labels) = (
        images("train-images-idx3-ubyte.gz")?,
        labels("train-labels-idx1-ubyte.gz")?,
    );
    let (test, test_labels) = (
        images("t10k-images-idx3-ubyte.gz")?,
        labels("t10k-labels-idx1-ubyte.gz")?,
    );
    // Binarised once with seed 0, as the bundled shard (which keeps the first 50,000).
    let bytes = build_shard((&train, &train_labels), (&test, &test_labels))?;
    Ok(Data {
        bytes,
        name: format!("MNIST IDX ({name}), binarised with seed 0"),
    })
}
