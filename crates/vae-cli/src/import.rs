//! `vae data`: a data set from your own images (PNG, JPEG, WebP, GIF, BMP files and folders of
//! them, MNIST's IDX files, NumPy `.npy` arrays), made as the page makes one
//! (`mnist_shard::import`: resized, turned to ink, binarized, split by a seeded shuffle), into a
//! shard `vae train --data` trains on.

use std::path::{Path, PathBuf};

use clap::Args;
use mnist_shard::build::gzip;
use mnist_shard::collect::{is_image, is_known, Collection, MAX_DECODED_PIXELS};
use mnist_shard::import::{Binarize, DecodedImage, ImportOptions};
use mnist_shard::{archive, Shard};

/// A file larger than this is no image, array or archive of images a lab takes.
const MAX_FILE_BYTES: u64 = archive::MAX_FILE_BYTES;

#[derive(Args)]
pub struct DataArgs {
    /// Image files, folders of them (each sub-folder of a folder is a class, by its name), zip
    /// archives of them (each top folder a class), IDX image files
    /// (`*-images-idx3-ubyte[.gz]`, labelled by the `*-labels-idx1-ubyte[.gz]` beside them), or
    /// NumPy arrays of shape [N, H, W] or [N, H, W, C] (`.npy`, or the image arrays of an `.npz`).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write the data set (a shard; gzip'd when the name ends in .gz).
    #[arg(long, short)]
    out: PathBuf,
    /// The model's image size, WIDTHxHEIGHT, at most 64x64.
    #[arg(long, default_value = "28x28")]
    size: String,
    /// Centre-crop each image to fill that size (by default it is fitted inside, with margins).
    #[arg(long)]
    crop: bool,
    /// Dark strokes on light paper: take the darkness as ink (MNIST's ink is light on dark).
    #[arg(long)]
    invert: bool,
    /// "threshold": a value is on where its ink reaches --threshold; "sample": on with
    /// probability ink/255, drawn once from the seed (as the standard binarized MNIST);
    /// "epoch": the ink kept and drawn afresh each epoch of training (dynamic binarisation);
    /// "keep": no binarisation, the grey levels are the model's inputs and targets.
    #[arg(long, default_value = "threshold", value_parser = ["threshold", "sample", "epoch", "keep"])]
    binarize: String,
    /// Red, green and blue values for each pixel (3 channels), not one grey.
    #[arg(long)]
    colour: bool,
    /// The ink (0-255) at which a pixel is on, with --binarize threshold.
    #[arg(long, default_value_t = 128)]
    threshold: u8,
    /// The share of images held out as the test set.
    #[arg(long, default_value_t = 0.1)]
    test_share: f64,
    /// Seeds the split (and the sampled binarisation).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let (w, h) = text
        .split_once(['x', 'X', '×'])
        .ok_or_else(|| format!("--size {text}: write it WIDTHxHEIGHT, such as 28x28"))?;
    let side = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("--size {text}: write it WIDTHxHEIGHT, such as 28x28"))
    };
    Ok((side(w)?, side(h)?))
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Decodes an image from its bytes after its header's size passed the check.
fn decode(bytes: &[u8]) -> Result<DecodedImage, String> {
    let reader = || {
        image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| e.to_string())
    };
    let (width, height) = reader()?.into_dimensions().map_err(|e| e.to_string())?;
    if u64::from(width) * u64::from(height) > MAX_DECODED_PIXELS {
        return Err(format!(
            "{width}×{height} pixels, over the {MAX_DECODED_PIXELS} an image may have"
        ));
    }
    let image = reader()?
        .decode()
        .map_err(|e| e.to_string())?
        // RGBA, as the browser hands the page its pixels, so both take their grey the same way
        // (`DecodedImage::ink`: Rec. 601 luma), and the same files make the same bytes.
        .into_rgba8();
    Ok(DecodedImage {
        width: width as usize,
        height: height as usize,
        channels: 4,
        pixels: image.into_raw(),
    })
}

/// Every file under `folder` (sorted), with the class it belongs to: the first-level sub-folder
/// it is in, or `class` for the folder's own files.
fn walk(folder: &Path, class: &str, out: &mut Vec<(PathBuf, String)>) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|e| format!("{}: {e}", folder.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            let sub = if class.is_empty() {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("")
                    .to_string()
            } else {
                class.to_string()
            };
            walk(&path, &sub, out)?;
        } else {
            out.push((path, class.to_string()));
        }
    }
    Ok(())
}

/// A file's bytes, refusing what no image file is the size of before reading it.
fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let name = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("{name}: {e}"))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "{name}: {} MB, over the {} MB a file may have",
            size >> 20,
            MAX_FILE_BYTES >> 20
        ));
    }
    std::fs::read(path).map_err(|e| format!("{name}: {e}"))
}

fn gather(inputs: &[PathBuf], options: &ImportOptions) -> Result<Collection, String> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            walk(input, "", &mut files)?;
        } else if input.exists() {
            files.push((input.clone(), String::new()));
        } else {
            return Err(format!("{}: no such file or folder", input.display()));
        }
    }
    let mut gathered = Collection::default();
    let beside = |name: &str| std::fs::read(name).ok();
    for (path, class) in files {
        let name = path.display().to_string();
        if !is_known(&name) {
            gathered.skipped.push(format!(
                "{name} (not an image, IDX, .npy, .npz or .zip file)"
            ));
            continue;
        }
        let bytes = match read_file(&path) {
            Ok(bytes) => bytes,
            Err(error) if is_image(&name) => {
                gathered.skipped.push(error);
                continue;
            }
            Err(error) => return Err(error),
        };
        for image in gathered.add_file(&name, &class, &bytes, &beside, options)? {
            match decode(&image.bytes) {
                Ok(decoded) => gathered.add(&decoded, &image.class, options)?,
                Err(error) => gathered.skipped.push(format!("{} ({error})", image.name)),
            }
        }
    }
    Ok(gathered)
}

pub fn run(args: DataArgs) -> Result<(), String> {
    let (width, height) = parse_size(&args.size)?;
    let options = ImportOptions {
        width,
        height,
        crop: args.crop,
        invert: args.invert,
        colour: args.colour,
        binarize: match args.binarize.as_str() {
            "sample" => Binarize::Sample,
            "epoch" => Binarize::EachEpoch,
            "keep" => Binarize::Keep,
            _ => Binarize::Threshold(args.threshold),
        },
        test_share: args.test_share,
        seed: args.seed,
    };
    options.check().map_err(|e| e.kind.to_string())?;
    let inputs = args
        .inputs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let done = gather(&args.inputs, &options)?
        .finish(&options)
        .map_err(|error| format!("{inputs}: {error}"))?;
    let names = &done.classes;
    let parsed = Shard::parse(&done.shard, "the data set").map_err(|e| e.to_string())?;
    let bytes = if extension(&args.out) == "gz" {
        std::borrow::Cow::<[u8]>::Owned(gzip(&done.shard))
    } else {
        std::borrow::Cow::Borrowed(&done.shard[..])
    };
    std::fs::write(&args.out, &bytes).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let classes = if names.len() > 1 || names.first().is_some_and(|n| !n.is_empty()) {
        format!(", {} classes ({})", names.len(), names.join(", "))
    } else {
        String::new()
    };
    let colour = if options.colour { " in colour" } else { "" };
    let values = match options.binarize {
        Binarize::EachEpoch => ", grey levels drawn afresh each epoch",
        Binarize::Keep => ", grey levels",
        _ => "",
    };
    println!(
        "{} images ({} training, {} test) of {width}×{height}{colour}{values}{classes}; written to \
         {} ({} bytes)",
        done.images,
        parsed.train().len(),
        parsed.test().len(),
        args.out.display(),
        bytes.len()
    );
    if let Some((low, high)) = done.mixed_sizes {
        println!(
            "  the images were of mixed sizes, from {}×{} to {}×{}: all resized to {width}×{height}",
            low.0, low.1, high.0, high.1
        );
    }
    if !done.skipped.is_empty() {
        println!("  skipped {} files:", done.skipped.len());
        for skipped in done.skipped.iter().take(10) {
            println!("    {skipped}");
        }
        if done.skipped.len() > 10 {
            println!("    and {} more", done.skipped.len() - 10);
        }
    }
    Ok(())
}
