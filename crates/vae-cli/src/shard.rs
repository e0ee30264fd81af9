//! `vae shard build` and `vae shard inspect`: the bundled data set, made and checked.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use mnist_shard::build::{build, gzip, BuildOptions, Source};
use mnist_shard::{decompress, idx, Shard};

#[derive(Subcommand)]
pub enum ShardCommand {
    /// Build a shard from the original MNIST IDX files (stochastically binarised, seeded).
    Build(BuildArgs),
    /// Validate a shard and print what it holds.
    Inspect {
        /// The shard, plain or gzip'd.
        path: PathBuf,
    },
}

#[derive(Args)]
pub struct BuildArgs {
    /// Folder with train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz
    /// and t10k-labels-idx1-ubyte.gz.
    #[arg(long, default_value = "../shared/mnist")]
    mnist_dir: PathBuf,
    /// Training images to take (the first ones of the IDX training set).
    #[arg(long, default_value_t = 50_000)]
    train: usize,
    /// Test images to take (the first ones of the IDX test set).
    #[arg(long, default_value_t = 10_000)]
    test: usize,
    /// Seed of the stochastic binarisation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write the shard; gzip'd when the name ends in .gz.
    #[arg(long, short, default_value = "web/mnist.shard.gz")]
    output: PathBuf,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))
}

pub fn run(command: ShardCommand) -> Result<(), String> {
    match command {
        ShardCommand::Build(args) => build_shard(args),
        ShardCommand::Inspect { path } => inspect(&path),
    }
}

fn build_shard(args: BuildArgs) -> Result<(), String> {
    let load_images = |name: &str| {
        let path = args.mnist_dir.join(name);
        idx::read_images(&read(&path)?, &path.display().to_string()).map_err(|e| e.to_string())
    };
    let load_labels = |name: &str| {
        let path = args.mnist_dir.join(name);
        idx::read_labels(&read(&path)?, &path.display().to_string()).map_err(|e| e.to_string())
    };
    let train_images = load_images("train-images-idx3-ubyte.gz")?;
    let train_labels = load_labels("train-labels-idx1-ubyte.gz")?;
    let test_images = load_images("t10k-images-idx3-ubyte.gz")?;
    let test_labels = load_labels("t10k-labels-idx1-ubyte.gz")?;
    let shard = build(
        Source {
            images: &train_images,
            labels: &train_labels,
        },
        Source {
            images: &test_images,
            labels: &test_labels,
        },
        BuildOptions {
            train_count: args.train,
            test_count: args.test,
            seed: args.seed,
        },
    )
    .map_err(|e| e.to_string())?;
    let compressed = args.output.extension().is_some_and(|ext| ext == "gz");
    let bytes = if compressed {
        gzip(&shard)
    } else {
        shard.clone()
    };
    std::fs::write(&args.output, &bytes)
        .map_err(|error| format!("{}: {error}", args.output.display()))?;
    println!(
        "wrote {}: {} train + {} test images, {} bytes ({} uncompressed)",
        args.output.display(),
        args.train,
        args.test,
        bytes.len(),
        shard.len()
    );
    Ok(())
}

fn inspect(path: &Path) -> Result<(), String> {
    let name = path.display().to_string();
    let bytes = read(path)?;
    let raw = decompress(&bytes, &name).map_err(|e| e.to_string())?;
    let shard = Shard::parse(&raw, &name).map_err(|e| e.to_string())?;
    let header = shard.header();
    println!(
        "{name}: valid MNIST shard, format version {}",
        header.version
    );
    let encoding = header.encoding;
    let colour = if encoding.channels == 3 {
        " in colour"
    } else {
        ""
    };
    let values = match (encoding.depth, encoding.drawn) {
        (1, _) => "binarised",
        (_, true) => "grey levels, binarised afresh each epoch,",
        _ => "grey levels,",
    };
    println!(
        "  images {}×{}{colour}, {values} with seed {}",
        header.width, header.height, header.binarization_seed
    );
    for split in [shard.train(), shard.test()] {
        let mut per_digit = [0usize; 10];
        for &label in split.labels() {
            per_digit[label as usize] += 1;
        }
        let ink: f64 = (0..split.len())
            .map(|i| {
                (0..split.values_per_image())
                    .map(|v| f64::from(split.level(i, v)) / 255.0)
                    .sum::<f64>()
            })
            .sum();
        println!(
            "  {} images, mean ink {:.4}, per label {:?}",
            split.len(),
            ink / (split.len() * split.values_per_image()).max(1) as f64,
            per_digit
        );
    }
    println!(
        "  {} bytes on disk, {} uncompressed, CRC-32 {:#010x}",
        bytes.len(),
        raw.len(),
        header.checksum
    );
    Ok(())
}
