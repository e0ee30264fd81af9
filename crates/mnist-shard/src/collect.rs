//! Gathering a data set from a visitor's files, the same way in the page and in `vae data`: each
//! file by its kind (an image, an IDX file with its labels, a NumPy array, a zip or `.npz` of
//! them), each image resized as it comes so only the small copy is kept, classes from folders or
//! label files, what cannot be used skipped and named. Images are decoded by the caller (the
//! browser in the page, the `image` crate in the CLI): [`Collection::add_file`] hands them back.

use std::collections::HashMap;

pub use crate::header::{check_dimensions, image_dimensions, MAX_DECODED_PIXELS};
use crate::import::{build_shard, DecodedImage, ImportOptions, MAX_CLASSES, MAX_IMAGES};
use crate::{archive, decompress, idx, npy};

/// File names (lower case) taken as images to decode.
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "webp", "gif", "bmp"];

/// An image file found, for the caller to decode and [`Collection::add`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFile {
    pub name: String,
    pub class: String,
    pub bytes: Vec<u8>,
}

/// What is known of a file before it is read: whether it is one we take at all.
pub fn is_known(name: &str) -> bool {
    let ext = extension(name);
    is_image(name) || ["npy", "npz", "zip"].contains(&ext.as_str()) || name.contains("-idx")
}

pub fn is_image(name: &str) -> bool {
    IMAGE_EXTENSIONS.contains(&extension(name).as_str())
}

fn extension(name: &str) -> String {
    let file = name.rsplit('/').next().unwrap_or(name);
    match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// Images gathered so far, their classes, and what could not be used.
#[derive(Clone, Debug, Default)]
pub struct Collection {
    pub images: Vec<Vec<u8>>,
    /// Class names in the order met.
    pub classes: Vec<String>,
    pub labels: Vec<u8>,
    /// Files not used, each with the reason.
    pub skipped: Vec<String>,
    /// The smallest and largest source sizes met (width, height).
    pub sizes: Option<((usize, usize), (usize, usize))>,
}

/// A finished data set: the shard's bytes and what to say of it.
#[derive(Clone, Debug)]
pub struct Collected {
    pub shard: Vec<u8>,
    pub images: usize,
    /// Class names by label (sorted); one empty name when the files had no classes.
    pub classes: Vec<String>,
    pub skipped: Vec<String>,
    /// The source sizes, when they were not all one.
    pub mixed_sizes: Option<((usize, usize), (usize, usize))>,
}

impl Collection {
    /// Adds one decoded image of class `class`, resized now so only the small copy is kept.
    pub fn add(
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
        self.images.push(options.shrink(image));
        self.labels.push(label as u8);
        Ok(())
    }

    /// Adds what the file `name` of class `class` holds, by its kind; `sibling` finds another
    /// file by name (an IDX file's labels beside it). Images come back undecoded, in order, for
    /// the caller to decode and [`add`](Self::add). An error is the whole import's: an array or
    /// archive that is damaged, too many images or classes.
    pub fn add_file(
        &mut self,
        name: &str,
        class: &str,
        bytes: &[u8],
        sibling: &dyn Fn(&str) -> Option<Vec<u8>>,
        options: &ImportOptions,
    ) -> Result<Vec<ImageFile>, String> {
        let ext = extension(name);
        let mut images = Vec::new();
        if is_image(name) {
            images.push(ImageFile {
                name: name.to_string(),
                class: class.to_string(),
                bytes: bytes.to_vec(),
            });
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
            let mut files = HashMap::new();
            archive::for_each_file(bytes, name, |path, contents| {
                files.insert(path.to_string(), contents);
                Ok(())
            })
            .map_err(|e| e.to_string())?;
            let mut paths: Vec<&String> = files.keys().collect();
            paths.sort();
            let inside = |other: &str| {
                other
                    .strip_prefix(name)
                    .and_then(|path| path.strip_prefix('/'))
                    .and_then(|path| files.get(path).cloned())
            };
            for path in paths {
                // The archive's first folder is the class, as a folder's sub-folders are.
                let inner_class = match path.split_once('/') {
                    Some((folder, _)) if class.is_empty() => folder,
                    _ => class,
                };
                let inner = format!("{name}/{path}");
                if !is_known(&inner) {
                    self.skipped.push(format!(
                        "{inner} (not an image, IDX, .npy, .npz or .zip file)"
                    ));
                    continue;
                }
                images.extend(self.add_file(
                    &inner,
                    inner_class,
                    &files[path],
                    &inside,
                    options,
                )?);
            }
        } else if name.contains("-images-idx3-ubyte") {
            self.add_idx(name, class, bytes, sibling, options)?;
        } else if !name.contains("-labels-idx1-ubyte") {
            self.skipped.push(format!(
                "{name} (not an image, IDX, .npy, .npz or .zip file)"
            ));
        }
        Ok(images)
    }

    fn add_idx(
        &mut self,
        name: &str,
        class: &str,
        bytes: &[u8],
        sibling: &dyn Fn(&str) -> Option<Vec<u8>>,
        options: &ImportOptions,
    ) -> Result<(), String> {
        let raw = decompress(bytes, name).map_err(|e| e.to_string())?;
        let images = idx::read_images(&raw, name).map_err(|e| e.to_string())?;
        // The IDX labels beside it name each image's class (digits, for MNIST).
        let labels_name = name.replace("-images-idx3-ubyte", "-labels-idx1-ubyte");
        let labels = match sibling(&labels_name) {
            Some(bytes) => {
                let raw = decompress(&bytes, &labels_name).map_err(|e| e.to_string())?;
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
        Ok(())
    }

    /// The data set: classes renumbered so their names sort (folders "cat", "dog" → 0, 1), split
    /// and binarized into a shard. Zero images is an error that names what was skipped.
    pub fn finish(self, options: &ImportOptions) -> Result<Collected, String> {
        if self.images.is_empty() {
            let skipped = if self.skipped.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} files skipped: {})",
                    self.skipped.len(),
                    self.skipped
                        .iter()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            };
            return Err(format!("no images found{skipped}"));
        }
        let mut names = self.classes.clone();
        names.sort();
        let renumber: Vec<u8> = self
            .classes
            .iter()
            .map(|name| names.iter().position(|n| n == name).unwrap_or(0) as u8)
            .collect();
        let labels: Vec<u8> = self
            .labels
            .iter()
            .map(|&l| renumber[usize::from(l)])
            .collect();
        let shard = build_shard(&self.images, &labels, options).map_err(|e| e.to_string())?;
        Ok(Collected {
            shard,
            images: self.images.len(),
            classes: names,
            skipped: self.skipped,
            mixed_sizes: self.sizes.filter(|(low, high)| low != high),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_taken_by_kind_and_classes_numbered_by_name() {
        let options = ImportOptions {
            width: 2,
            height: 2,
            test_share: 0.0,
            ..ImportOptions::default()
        };
        let mut collection = Collection::default();
        let none = |_: &str| None;
        let images = collection
            .add_file("b/x.PNG", "b", b"png bytes", &none, &options)
            .unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].class, "b");
        assert!(collection
            .add_file("notes.txt", "", b"", &none, &options)
            .unwrap()
            .is_empty());
        assert_eq!(collection.skipped.len(), 1);
        for class in ["b", "a"] {
            let image = DecodedImage {
                width: 2,
                height: 2,
                channels: 1,
                pixels: vec![255, 0, 0, 255],
            };
            collection.add(&image, class, &options).unwrap();
        }
        let done = collection.finish(&options).unwrap();
        assert_eq!(done.classes, ["a", "b"]);
        assert_eq!(done.images, 2);
        let shard = crate::Shard::parse(&done.shard, "made").unwrap();
        assert_eq!(shard.train().labels(), [1, 0]);
        let empty = Collection {
            skipped: vec!["a.txt (not an image)".into()],
            ..Collection::default()
        };
        let error = empty.finish(&options).unwrap_err();
        assert!(
            error.contains("no images found (1 files skipped: a.txt"),
            "{error}"
        );
    }
}
