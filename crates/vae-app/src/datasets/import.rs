//! A visitor's files made into a data set in the page: each file read, images checked by their
//! header and decoded by the browser in a worker (several in flight), everything else (IDX,
//! NumPy, zip) read by `mnist_shard`, and each image shrunk to the model's size as it arrives,
//! so memory holds the small copies only. The work yields to the page at every decode, so the
//! page keeps answering input while thousands of files go through.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use mnist_shard::archive::MAX_FILE_BYTES;
use mnist_shard::collect::{check_dimensions, is_image, is_known, Collected, Collection};
use mnist_shard::import::{DecodedImage, ImportOptions};

use super::files::{decode, read, start_read, Decoding, PickedFile, Reading};

/// Images decoding at once: enough to keep the worker busy between the page's turns.
const IN_FLIGHT: usize = 16;
/// Image files read ahead of the one being added, so reads overlap; only small ones, so what is
/// held at once stays small.
const READ_AHEAD: usize = 32;
const READ_AHEAD_BYTES: f64 = 4e6;
/// Images kept decoded for the preview.
pub const PREVIEW_IMAGES: usize = 8;

/// Where an import stands, for its progress bar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub files_done: usize,
    pub files: usize,
    pub images: usize,
    pub skipped: usize,
}

/// Reads and decodes the first images of `files` for the preview, as they are (the options are
/// applied when it is drawn, so changing them needs no decoding).
pub async fn preview_images(files: &[PickedFile], worker: &str) -> Vec<DecodedImage> {
    let mut out = Vec::new();
    let options = ImportOptions::default();
    for picked in files {
        if out.len() >= PREVIEW_IMAGES {
            break;
        }
        if picked.file.size() > MAX_FILE_BYTES as f64 || !is_known(&picked.path) {
            continue;
        }
        let Ok(bytes) = read(&picked.file).await else {
            continue;
        };
        if is_image(&picked.path) {
            if check_dimensions(&bytes).is_ok() {
                if let Ok(image) = decode(worker, &bytes).image().await {
                    out.push(image);
                }
            }
        } else if picked.path.to_ascii_lowercase().ends_with(".zip") {
            // A zip's first images (its arrays show once imported).
            let mut collection = Collection::default();
            let none = |_: &str| None;
            if let Ok(images) = collection.add_file(&picked.path, "", &bytes, &none, &options) {
                for image in images.iter().take(PREVIEW_IMAGES - out.len()) {
                    if check_dimensions(&image.bytes).is_ok() {
                        if let Ok(image) = decode(worker, &image.bytes).image().await {
                            out.push(image);
                        }
                    }
                }
            }
        } else if let Some(array) = array_images(&picked.path, &bytes) {
            out.extend(array.into_iter().take(PREVIEW_IMAGES - out.len()));
        }
    }
    out
}

/// The first images of a NumPy or IDX file, undecoded by any option.
fn array_images(name: &str, bytes: &[u8]) -> Option<Vec<DecodedImage>> {
    if name.to_ascii_lowercase().ends_with(".npy") {
        let array = mnist_shard::npy::read_npy(bytes, name).ok()?;
        return Some(
            (0..array.count.min(PREVIEW_IMAGES))
                .map(|i| array.image(i))
                .collect(),
        );
    }
    if name.contains("-images-idx3-ubyte") {
        let raw = mnist_shard::decompress(bytes, name).ok()?;
        let images = mnist_shard::idx::read_images(&raw, name).ok()?;
        return Some(
            (0..images.count.min(PREVIEW_IMAGES))
                .map(|i| DecodedImage {
                    width: images.cols,
                    height: images.rows,
                    channels: 1,
                    pixels: images.image(i).to_vec(),
                })
                .collect(),
        );
    }
    None
}

/// Makes `files` into a data set with `options`, reporting into `progress` as it goes; stops
/// (with an error) when `cancelled` is set.
pub async fn import(
    files: &[PickedFile],
    options: &ImportOptions,
    worker: &str,
    progress: &dyn Fn(Progress),
    cancelled: Rc<Cell<bool>>,
) -> Result<Collected, String> {
    options.check().map_err(|e| e.kind.to_string())?;
    // IDX label files, read first so the image files beside them find them.
    let mut labels: HashMap<String, Vec<u8>> = HashMap::new();
    for picked in files
        .iter()
        .filter(|f| f.path.contains("-labels-idx1-ubyte"))
    {
        if picked.file.size() <= MAX_FILE_BYTES as f64 {
            labels.insert(picked.path.clone(), read(&picked.file).await?);
        }
    }
    let beside = |name: &str| labels.get(name).cloned();
    let mut collection = Collection::default();
    let mut pending: VecDeque<(String, String, Decoding)> = VecDeque::new();
    let mut state = Progress {
        files: files.len(),
        ..Progress::default()
    };
    let report = |collection: &Collection, state: &mut Progress| {
        state.images = collection.images.len();
        state.skipped = collection.skipped.len();
        progress(*state);
    };
    let ahead_worthy = |f: &PickedFile| is_image(&f.path) && f.file.size() <= READ_AHEAD_BYTES;
    let mut ahead: VecDeque<(usize, Reading)> = VecDeque::new();
    let mut next_ahead = 0;
    for (index, picked) in files.iter().enumerate() {
        if cancelled.get() {
            return Err("cancelled".into());
        }
        while next_ahead < files.len() && next_ahead < index + READ_AHEAD {
            if ahead_worthy(&files[next_ahead]) {
                ahead.push_back((next_ahead, start_read(&files[next_ahead].file)));
            }
            next_ahead += 1;
        }
        let early = match ahead.front() {
            Some((at, _)) if *at == index => ahead.pop_front().map(|(_, reading)| reading),
            _ => None,
        };
        let name = &picked.path;
        state.files_done += 1;
        if !is_known(name) {
            collection.skipped.push(format!(
                "{name} (not an image, IDX, .npy, .npz or .zip file)"
            ));
            continue;
        }
        if picked.file.size() > MAX_FILE_BYTES as f64 {
            let message = format!(
                "{name}: {:.0} MB, over the {} MB a file may have",
                picked.file.size() / 1e6,
                MAX_FILE_BYTES >> 20
            );
            if is_image(name) {
                collection.skipped.push(message);
                continue;
            }
            return Err(message);
        }
        let bytes = match early {
            Some(reading) => reading.bytes().await,
            None => read(&picked.file).await,
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(error) if is_image(name) => {
                collection.skipped.push(format!("{name} ({error})"));
                continue;
            }
            Err(error) => return Err(format!("{name}: {error}")),
        };
        let images = collection.add_file(name, &picked.class(), &bytes, &beside, options)?;
        drop(bytes);
        for image in images {
            if let Err(error) = check_dimensions(&image.bytes) {
                collection.skipped.push(format!("{} ({error})", image.name));
                continue;
            }
            pending.push_back((image.name, image.class, decode(worker, &image.bytes)));
            while pending.len() >= IN_FLIGHT {
                take_one(&mut pending, &mut collection, options).await?;
                if collection.images.len().is_multiple_of(64) {
                    report(&collection, &mut state);
                }
            }
        }
        if state.files_done.is_multiple_of(64) {
            report(&collection, &mut state);
        }
    }
    while !pending.is_empty() {
        take_one(&mut pending, &mut collection, options).await?;
    }
    report(&collection, &mut state);
    let collected = collection.finish(options)?;
    // The lab scores a test set as it trains: it needs one image there and one to train on.
    let shard =
        mnist_shard::Shard::parse(&collected.shard, "the data set").map_err(|e| e.to_string())?;
    if shard.test().is_empty() || shard.train().is_empty() {
        return Err(format!(
            "{} images leave none {}: bring at least two, with a test share above 0",
            collected.images,
            if shard.test().is_empty() {
                "to test on"
            } else {
                "to train on"
            }
        ));
    }
    Ok(collected)
}

/// Waits for the oldest image in flight and adds it (or counts it skipped).
async fn take_one(
    pending: &mut VecDeque<(String, String, Decoding)>,
    collection: &mut Collection,
    options: &ImportOptions,
) -> Result<(), String> {
    let Some((name, class, decoding)) = pending.pop_front() else {
        return Ok(());
    };
    match decoding.image().await {
        Ok(image) => collection.add(&image, &class, options),
        Err(error) => {
            collection.skipped.push(format!("{name} ({error})"));
            Ok(())
        }
    }
}
