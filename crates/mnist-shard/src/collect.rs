//! Gathering a data set from a visitor's files, the same way in the page and in `vae data`: each
//! file by its kind (an image, an IDX file with its labels, a NumPy array, a zip or `.npz` of
//! them), each image resized as it comes so only the small copy is kept, classes from folders or
//! label files, what cannot be used skipped and named. Images are decoded by the caller (the
//! browser in the page, the `image` crate in the CLI): [`Collection::add_file`] hands them back.

use std::collections::HashMap;

use crate::import::{build_shard, resize, DecodedImage, ImportOptions, MAX_CLASSES, MAX_IMAGES};
use crate::{archive, decompress, idx, npy};

/// File names (lower case) taken as images to decode.
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "webp", "gif", "bmp"];
/// An image whose header claims more pixels than this is refused before it is decoded.
pub const MAX_DECODED_PIXELS: u64 = 50_000_000;

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
        let ink = image.ink(options.invert);
        self.images
            .push(resize(&ink, image.width, image.height, options));
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

/// An image file's width and height from its header (PNG, GIF, BMP, JPEG, WebP), read without
/// decoding it, so a 20,000 × 20,000 image is refused before it costs its 1.6 GB; None when the
/// header is not one of these (the decoder then says what the file is).
pub fn image_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let u16_be = |at: usize| {
        Some(u32::from(u16::from_be_bytes(
            bytes.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let u16_le = |at: usize| {
        Some(u32::from(u16::from_le_bytes(
            bytes.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let u32_be = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let u32_le = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some((u32_be(16)?, u32_be(20)?));
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some((u16_le(6)?, u16_le(8)?));
    }
    if bytes.starts_with(b"BM") {
        // BITMAPINFOHEADER and later: signed 32-bit sizes (a negative height is top-down);
        // the old BITMAPCOREHEADER (12 bytes): 16-bit ones.
        return if u32_le(14)? == 12 {
            Some((u16_le(18)?, u16_le(20)?))
        } else {
            let width = u32_le(18)? as i32;
            let height = u32_le(22)? as i32;
            Some((width.unsigned_abs(), height.unsigned_abs()))
        };
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        let u24_le = |at: usize| {
            let b = bytes.get(at..at + 3)?;
            Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
        };
        return match bytes.get(12..16)? {
            b"VP8 " => Some((u16_le(26)? & 0x3fff, u16_le(28)? & 0x3fff)),
            b"VP8L" => {
                let bits = u32_le(21)?;
                Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
            }
            b"VP8X" => Some((u24_le(24)? + 1, u24_le(27)? + 1)),
            _ => None,
        };
    }
    if bytes.starts_with(&[0xff, 0xd8]) {
        // Walk the JPEG's segments to the first start-of-frame marker.
        let mut at = 2;
        while at + 4 <= bytes.len() {
            if bytes[at] != 0xff {
                return None;
            }
            let marker = bytes[at + 1];
            if marker == 0xff {
                at += 1;
                continue;
            }
            let length = u16_be(at + 2)? as usize;
            let start_of_frame =
                matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
            if start_of_frame {
                return Some((u16_be(at + 7)?, u16_be(at + 5)?));
            }
            if length < 2 {
                return None;
            }
            at += 2 + length;
        }
        return None;
    }
    None
}

/// Refuses an image whose header claims more than [`MAX_DECODED_PIXELS`].
pub fn check_dimensions(bytes: &[u8]) -> Result<(), String> {
    match image_dimensions(bytes) {
        Some((width, height)) if u64::from(width) * u64::from(height) > MAX_DECODED_PIXELS => Err(
            format!("{width}×{height} pixels, over the {MAX_DECODED_PIXELS} an image may have"),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_give_sizes_without_decoding() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(20_000u32.to_be_bytes());
        png.extend(30u32.to_be_bytes());
        assert_eq!(image_dimensions(&png), Some((20_000, 30)));
        assert!(check_dimensions(&png).is_ok());
        png[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        assert!(check_dimensions(&png).unwrap_err().contains("20000×20000"));
        let gif = b"GIF89a\x10\x00\x20\x00".to_vec();
        assert_eq!(image_dimensions(&gif), Some((16, 32)));
        let mut bmp = vec![0u8; 26];
        bmp[..2].copy_from_slice(b"BM");
        bmp[14..18].copy_from_slice(&40u32.to_le_bytes());
        bmp[18..22].copy_from_slice(&7i32.to_le_bytes());
        bmp[22..26].copy_from_slice(&(-9i32).to_le_bytes());
        assert_eq!(image_dimensions(&bmp), Some((7, 9)));
        // A JPEG: SOI, an APP0 segment of 16 bytes, then SOF0 (length, precision, height, width).
        let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16];
        jpeg.extend([0; 14]);
        jpeg.extend([0xff, 0xc0, 0, 17, 8, 0, 40, 0, 50]);
        assert_eq!(image_dimensions(&jpeg), Some((50, 40)));
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X".to_vec();
        webp.extend([0; 8]);
        webp.extend([99, 0, 0, 199, 0, 0]);
        assert_eq!(image_dimensions(&webp), Some((100, 200)));
        assert_eq!(image_dimensions(b"not an image"), None);
        assert_eq!(image_dimensions(&png[..18]), None);
        assert_eq!(image_dimensions(&[0xff, 0xd8, 0xff, 0xe0, 0, 1]), None);
    }

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
