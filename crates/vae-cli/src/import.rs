//! `vae data`: a data set from your own images (PNG, JPEG, WebP, GIF, BMP files and folders of
//! them, MNIST's IDX files, NumPy `.npy` arrays), made as the page makes one
//! (`mnist_shard::import`: resized, turned to ink, binarized, split by a seeded shuffle), into a
//! shard `vae train --data` trains on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use mnist_shard::build::gzip;
use mnist_shard::import::{
    build_shard, Binarize, DecodedImage, ImportOptions, MAX_CLASSES, MAX_IMAGES,
};
use mnist_shard::{archive, idx, npy, Shard};

/// An image file whose header claims more than this is refused before it is decoded.
const MAX_DECODED_PIXELS: u64 = 50_000_000;
/// A file larger than this is no image, array or archive of images a lab takes.
const MAX_FILE_BYTES: u64 = archive::MAX_FILE_BYTES;
const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "webp", "gif", "bmp"];

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
    /// "threshold": a pixel is on where its ink reaches --threshold; "sample": on with
    /// probability ink/255, drawn once from the seed (as the standard binarized MNIST).
    #[arg(long, default_value = "threshold", value_parser = ["threshold", "sample"])]
    binarize: String,
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

/// What was gathered: each image's ink resized, its class, and what could not be used.
struct Gathered {
    images: Vec<Vec<u8>>,
    classes: Vec<String>,
    labels: Vec<u8>,
    skipped: Vec<String>,
    /// The smallest and largest source sizes met.
    sizes: Option<((usize, usize), (usize, usize))>,
}

impl Gathered {
    /// Adds one decoded image of class `class`, resized now so only the small copy is kept.
    fn add(
        &mut self,
        image: &DecodedImage,
        class: &str,
        options: &ImportOptions,
    ) -> Result<(), String> {
        if self.images.len() == MAX_IMAGES {
            return Err(format!(
                "more than {MAX_IMAGES} images: a data set holds at most {MAX_IMAGES}; pick fewer"
            ));
        }
        let label = match self.classes.iter().position(|c| c == class) {
            Some(label) => label,
            None if self.classes.len() < MAX_CLASSES => {
                self.classes.push(class.to_string());
                self.classes.len() - 1
            }
            None => {
                return Err(format!(
                    "more than {MAX_CLASSES} classes (sub-folders): {} and \"{class}\"; the map \
                     colours {MAX_CLASSES}, so merge or leave out some",
                    self.classes.join(", ")
                ))
            }
        };
        let size = (image.width, image.height);
        self.sizes = Some(match self.sizes {
            None => (size, size),
            Some((low, high)) => (low.min(size), high.max(size)),
        });
        let ink = image.ink(options.invert);
        self.images.push(mnist_shard::import::resize(
            &ink,
            image.width,
            image.height,
            options,
        ));
        self.labels.push(label as u8);
        Ok(())
    }
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
        .into_luma_alpha8();
    Ok(DecodedImage {
        width: width as usize,
        height: height as usize,
        channels: 2,
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

/// Where a file came from: the file system, or inside a zip archive (whose other files an IDX
/// file's labels may be).
enum Source<'a> {
    Files,
    /// The archive's name and its files by their paths inside it.
    Archive(&'a str, &'a std::collections::HashMap<String, Vec<u8>>),
}

impl Source<'_> {
    /// The bytes of the file `name` (named as `add_file` names them), if it is there.
    fn sibling(&self, name: &str) -> Option<Vec<u8>> {
        match self {
            Source::Files => std::fs::read(name).ok(),
            Source::Archive(archive, files) => name
                .strip_prefix(archive)
                .and_then(|path| path.strip_prefix('/'))
                .and_then(|path| files.get(path).cloned()),
        }
    }
}

impl Gathered {
    /// Adds what the file `name` of class `class` holds, by its kind.
    fn add_file(
        &mut self,
        name: &str,
        class: &str,
        bytes: &[u8],
        source: &Source<'_>,
        options: &ImportOptions,
    ) -> Result<(), String> {
        let ext = extension(Path::new(name));
        if IMAGE_EXTENSIONS.contains(&ext.as_str()) {
            match decode(bytes) {
                Ok(image) => self.add(&image, class, options)?,
                Err(error) => self.skipped.push(format!("{name} ({error})")),
            }
        } else if ext == "npy" {
            let array = npy::read_npy(bytes, name).map_err(|e| e.to_string())?;
            for index in 0..array.count {
                self.add(&array.image(index), class, options)?;
            }
        } else if ext == "npz" {
            let archive::NpzContents { arrays, others } =
                archive::read_npz(bytes, name).map_err(|e| e.to_string())?;
            self.skipped.extend(others);
            for (_, array) in arrays {
                for index in 0..array.count {
                    self.add(&array.image(index), class, options)?;
                }
            }
        } else if ext == "zip" {
            // Small enough to hold (archives are capped), so an IDX file finds its labels.
            let mut files = std::collections::HashMap::new();
            archive::for_each_file(bytes, name, |path, contents| {
                files.insert(path.to_string(), contents);
                Ok(())
            })
            .map_err(|e| e.to_string())?;
            let mut paths: Vec<&String> = files.keys().collect();
            paths.sort();
            for path in paths {
                // The archive's first folder is the class, as a folder's sub-folders are.
                let inner_class = match path.split_once('/') {
                    Some((folder, _)) if class.is_empty() => folder,
                    _ => class,
                };
                let inner = format!("{name}/{path}");
                self.add_file(
                    &inner,
                    inner_class,
                    &files[path],
                    &Source::Archive(name, &files),
                    options,
                )?;
            }
        } else if name.contains("-images-idx3-ubyte") {
            let raw = mnist_shard::decompress(bytes, name).map_err(|e| e.to_string())?;
            let images = idx::read_images(&raw, name).map_err(|e| e.to_string())?;
            // The IDX labels beside it name each image's class (digits, for MNIST).
            let labels_name = name.replace("-images-idx3-ubyte", "-labels-idx1-ubyte");
            let labels = match source.sibling(&labels_name) {
                Some(bytes) => {
                    let raw =
                        mnist_shard::decompress(&bytes, &labels_name).map_err(|e| e.to_string())?;
                    Some(idx::read_labels(&raw, &labels_name).map_err(|e| e.to_string())?)
                }
                None => None,
            };
            if let Some(labels) = labels.as_ref().filter(|l| l.len() != images.count) {
                return Err(format!(
                    "{name}: {} images but {} labels beside it",
                    images.count,
                    labels.len()
                ));
            }
            for index in 0..images.count {
                let image = DecodedImage {
                    width: images.cols,
                    height: images.rows,
                    channels: 1,
                    pixels: images.image(index).to_vec(),
                };
                let class = labels
                    .as_ref()
                    .map_or(class.to_string(), |l| l[index].to_string());
                self.add(&image, &class, options)?;
            }
        } else if !name.contains("-labels-idx1-ubyte") {
            self.skipped.push(format!(
                "{name} (not an image, IDX, .npy, .npz or .zip file)"
            ));
        }
        Ok(())
    }
}

fn gather(inputs: &[PathBuf], options: &ImportOptions) -> Result<Gathered, String> {
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
    let mut gathered = Gathered {
        images: Vec::new(),
        classes: Vec::new(),
        labels: Vec::new(),
        skipped: Vec::new(),
        sizes: None,
    };
    for (path, class) in files {
        let name = path.display().to_string();
        let ext = extension(&path);
        let known = IMAGE_EXTENSIONS.contains(&ext.as_str())
            || ["npy", "npz", "zip"].contains(&ext.as_str())
            || name.contains("-idx");
        if !known {
            gathered.skipped.push(format!(
                "{name} (not an image, IDX, .npy, .npz or .zip file)"
            ));
            continue;
        }
        let bytes = match read_file(&path) {
            Ok(bytes) => bytes,
            Err(error) if IMAGE_EXTENSIONS.contains(&ext.as_str()) => {
                gathered.skipped.push(error);
                continue;
            }
            Err(error) => return Err(error),
        };
        gathered.add_file(&name, &class, &bytes, &Source::Files, options)?;
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
        binarize: match args.binarize.as_str() {
            "sample" => Binarize::Sample,
            _ => Binarize::Threshold(args.threshold),
        },
        test_share: args.test_share,
        seed: args.seed,
    };
    options.check().map_err(|e| e.kind.to_string())?;
    let gathered = gather(&args.inputs, &options)?;
    if gathered.images.is_empty() {
        return Err(format!(
            "no images found in {} ({} files skipped: {})",
            args.inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            gathered.skipped.len(),
            gathered
                .skipped
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    // Classes in the order met, renumbered so their names sort (folders "cat", "dog" → 0, 1).
    let mut names = gathered.classes.clone();
    names.sort();
    let renumber: BTreeMap<usize, u8> = gathered
        .classes
        .iter()
        .enumerate()
        .map(|(old, name)| (old, names.iter().position(|n| n == name).unwrap_or(0) as u8))
        .collect();
    let labels: Vec<u8> = gathered
        .labels
        .iter()
        .map(|&l| renumber[&usize::from(l)])
        .collect();
    let shard = build_shard(&gathered.images, &labels, &options).map_err(|e| e.to_string())?;
    let parsed = Shard::parse(&shard, "the data set").map_err(|e| e.to_string())?;
    let bytes = if extension(&args.out) == "gz" {
        std::borrow::Cow::<[u8]>::Owned(gzip(&shard))
    } else {
        std::borrow::Cow::Borrowed(&shard[..])
    };
    std::fs::write(&args.out, &bytes).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let classes = if names.len() > 1 || names.first().is_some_and(|n| !n.is_empty()) {
        format!(", {} classes ({})", names.len(), names.join(", "))
    } else {
        String::new()
    };
    println!(
        "{} images ({} training, {} test) of {width}×{height}{classes}; written to {} ({} bytes)",
        gathered.images.len(),
        parsed.train().len(),
        parsed.test().len(),
        args.out.display(),
        bytes.len()
    );
    if let Some((low, high)) = gathered.sizes {
        if low != high {
            println!(
                "  the images were of mixed sizes, from {}×{} to {}×{}: all resized to {width}×{height}",
                low.0, low.1, high.0, high.1
            );
        }
    }
    if !gathered.skipped.is_empty() {
        println!("  skipped {} files:", gathered.skipped.len());
        for skipped in gathered.skipped.iter().take(10) {
            println!("    {skipped}");
        }
        if gathered.skipped.len() > 10 {
            println!("    and {} more", gathered.skipped.len() - 10);
        }
    }
    Ok(())
}
