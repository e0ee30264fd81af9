//! A data set from a visitor's own images: each decoded image turned to ink (light strokes on a
//! dark ground, as MNIST; `invert` for dark strokes on light paper), grey or in colour, resized
//! to the model's size (fit inside it or centre-cropped to fill it), binarized or kept as grey
//! levels, and split into training and test images by a seeded shuffle, into a shard like the
//! bundled one. The page and `vae data` both build through here, so the same files with the
//! same options give the same shard.

use crate::bits::{pack_image, pack_levels};
use crate::build::{binarize, seal, start_shard};
use crate::format::Encoding;
use crate::{ShardError, ShardErrorKind};

/// The largest side a data set's images may be resized to.
pub const MAX_SIDE: usize = 64;
/// More images than this are refused: a data set for a lab in a browser tab, not a corpus.
pub const MAX_IMAGES: usize = 100_000;
/// Labels a shard holds: the map colours ten classes.
pub const MAX_CLASSES: usize = 10;

/// How a value's ink becomes what the model sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binarize {
    /// On where the ink is at least this (0-255).
    Threshold(u8),
    /// On with probability ink/255, drawn once per value from the seed, as the standard
    /// binarized MNIST was made.
    Sample,
    /// The ink kept as levels and drawn afresh each epoch of training (on with probability
    /// ink/255; "dynamic binarisation"), once and for all in evaluation ([`crate::draw`]).
    EachEpoch,
    /// No binarisation: the grey levels themselves, ink/255, are the model's inputs and the
    /// Bernoulli cross-entropy's targets.
    Keep,
}

impl Binarize {
    /// What the model sees of the values this stores is 0 or 1.
    pub fn is_binary(&self) -> bool {
        !matches!(self, Binarize::Keep)
    }
}

/// What the model will see of each image. The defaults are MNIST's: 28 × 28, fitted, light ink
/// on dark, on at half intensity, a tenth held out for testing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImportOptions {
    pub width: usize,
    pub height: usize,
    /// Centre-crop to the model's aspect and fill it, instead of fitting the whole image inside
    /// (the margins then the background).
    pub crop: bool,
    /// Dark strokes on light paper: ink is the darkness, not the lightness.
    pub invert: bool,
    /// Red, green and blue values for each pixel, not one grey.
    pub colour: bool,
    pub binarize: Binarize,
    /// The share of images held out as the test set (at least one of each when there are two).
    pub test_share: f64,
    /// Seeds the split and, with [`Binarize::Sample`], the binarisation.
    pub seed: u64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            width: 28,
            height: 28,
            crop: false,
            invert: false,
            colour: false,
            binarize: Binarize::Threshold(128),
            test_share: 0.1,
            seed: 0,
        }
    }
}

impl ImportOptions {
    /// How the shard stores each image's values.
    pub fn encoding(&self) -> Encoding {
        let stores_levels = matches!(self.binarize, Binarize::EachEpoch | Binarize::Keep);
        Encoding {
            channels: if self.colour { 3 } else { 1 },
            depth: if stores_levels { 8 } else { 1 },
            drawn: self.binarize == Binarize::EachEpoch,
        }
    }

    /// Values an image has at these options (pixels × channels).
    pub fn values(&self) -> usize {
        self.encoding().values(self.width * self.height)
    }

    /// One decoded image as the data set keeps it: its ink (grey, or each colour channel),
    /// resized to these options' size, channels next to each other, before any binarisation.
    pub fn shrink(&self, image: &DecodedImage) -> Vec<u8> {
        if !self.colour {
            return resize(&image.ink(self.invert), image.width, image.height, self);
        }
        let planes: Vec<Vec<u8>> = image
            .colour_ink(self.invert)
            .iter()
            .map(|plane| resize(plane, image.width, image.height, self))
            .collect();
        (0..self.width * self.height)
            .flat_map(|p| planes.iter().map(move |plane| plane[p]))
            .collect()
    }

    /// Refuses sizes and shares out of range, naming the value.
    pub fn check(&self) -> Result<(), ShardError> {
        let bad = |message: String| Err(ShardErrorKind::BadLayout(message).in_file("options"));
        for (name, side) in [("width", self.width), ("height", self.height)] {
            if side == 0 || side > MAX_SIDE {
                return bad(format!("{name} {side} must be between 1 and {MAX_SIDE}"));
            }
        }
        if !(self.test_share.is_finite() && (0.0..1.0).contains(&self.test_share)) {
            return bad(format!(
                "test share {} must be at least 0 and below 1",
                self.test_share
            ));
        }
        Ok(())
    }
}

/// One decoded image: `channels` (1 grey, 2 grey and alpha, 3 RGB, 4 RGBA) bytes per pixel, row
/// by row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedImage {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub pixels: Vec<u8>,
}

impl DecodedImage {
    /// Each pixel's ink, 0-255: its lightness (Rec. 601 luma), or with `invert` its darkness; a
    /// transparent pixel is the background (no ink) either way.
    pub fn ink(&self, invert: bool) -> Vec<u8> {
        let c = self.channels.max(1);
        self.pixels
            .chunks_exact(c)
            .map(|p| {
                let (luma, alpha) = match c {
                    1 => (f32::from(p[0]), 255.0),
                    2 => (f32::from(p[0]), f32::from(p[1])),
                    3 => (luma(p), 255.0),
                    _ => (luma(p), f32::from(p[3])),
                };
                let ink = if invert { 255.0 - luma } else { luma };
                (ink * alpha / 255.0).round() as u8
            })
            .collect()
    }
}

impl DecodedImage {
    /// Each pixel's red, green and blue ink, as three planes: the channels (grey repeated for a
    /// grey image), inverted with `invert`, a transparent pixel the background either way.
    pub fn colour_ink(&self, invert: bool) -> [Vec<u8>; 3] {
        let c = self.channels.max(1);
        let mut planes: [Vec<u8>; 3] = Default::default();
        for p in self.pixels.chunks_exact(c) {
            let (rgb, alpha) = match c {
                1 => ([p[0]; 3], 255),
                2 => ([p[0]; 3], p[1]),
                3 => ([p[0], p[1], p[2]], 255),
                _ => ([p[0], p[1], p[2]], p[3]),
            };
            for (plane, value) in planes.iter_mut().zip(rgb) {
                let ink = if invert { 255 - value } else { value };
                plane.push((f32::from(ink) * f32::from(alpha) / 255.0).round() as u8);
            }
        }
        planes
    }
}

fn luma(rgb: &[u8]) -> f32 {
    0.299 * f32::from(rgb[0]) + 0.587 * f32::from(rgb[1]) + 0.114 * f32::from(rgb[2])
}

/// `ink` (`width × height`, 0-255) resized to `options`' size: each target pixel the mean of the
/// source area it covers (partial pixels weighted by their overlap), so shrinking averages and
/// enlarging repeats. Fitted images are centred with blank margins; cropped ones centred.
pub fn resize(ink: &[u8], width: usize, height: usize, options: &ImportOptions) -> Vec<u8> {
    let (tw, th) = (options.width, options.height);
    let (sw, sh) = (width as f64, height as f64);
    // Target pixels per source pixel, the same along both axes (the aspect is kept).
    let scale = if options.crop {
        (tw as f64 / sw).max(th as f64 / sh)
    } else {
        (tw as f64 / sw).min(th as f64 / sh)
    };
    // Where the scaled image's top-left corner lands, in target pixels.
    let (x0, y0) = (
        (tw as f64 - sw * scale) / 2.0,
        (th as f64 - sh * scale) / 2.0,
    );
    // Each target column's (source column, weight) pairs, and each row's: the overlaps of the
    // target pixel's span with the source pixels, in source units.
    let spans = |count: usize, origin: f64, source: usize| -> Vec<Vec<(usize, f64)>> {
        (0..count)
            .map(|t| {
                let from = ((t as f64 - origin) / scale).max(0.0);
                let to = ((t as f64 + 1.0 - origin) / scale).min(source as f64);
                let mut parts = Vec::new();
                let mut s = from.floor() as usize;
                while (s as f64) < to && s < source {
                    let overlap = to.min(s as f64 + 1.0) - from.max(s as f64);
                    if overlap > 0.0 {
                        parts.push((s, overlap));
                    }
                    s += 1;
                }
                parts
            })
            .collect()
    };
    let (columns, rows) = (spans(tw, x0, width), spans(th, y0, height));
    // The area a whole target pixel covers: margins count as background.
    let area = 1.0 / (scale * scale);
    let mut out = Vec::with_capacity(tw * th);
    for row in &rows {
        for column in &columns {
            let mut sum = 0.0;
            for &(y, wy) in row {
                for &(x, wx) in column {
                    sum += f64::from(ink[y * width + x]) * wx * wy;
                }
            }
            out.push((sum / area).round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// Which images are held out for testing: a seeded shuffle's first `share` of them (at least one
/// and leaving at least one for training, when there are two or more), each part in the images'
/// own order.
pub fn split(count: usize, share: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..count).collect();
    let mut state = seed ^ 0x5EED_DA7A_5E75_0000;
    for i in (1..count).rev() {
        let j = (splitmix(&mut state) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let mut test_count = (share * count as f64).round() as usize;
    if count >= 2 && share > 0.0 {
        test_count = test_count.clamp(1, count - 1);
    }
    let mut test = order[..test_count].to_vec();
    let mut train = order[test_count..].to_vec();
    test.sort_unstable();
    train.sort_unstable();
    (train, test)
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A shard (uncompressed) of `images`, each already shrunk to `options`' size and channels
/// ([`ImportOptions::shrink`]: ink, 0-255), with its label (below [`MAX_CLASSES`]), split and
/// binarized (or kept as levels) as `options` say.
pub fn build_shard(
    images: &[Vec<u8>],
    labels: &[u8],
    options: &ImportOptions,
) -> Result<Vec<u8>, ShardError> {
    options.check()?;
    let fail = |message: String| Err(ShardErrorKind::BadLayout(message).in_file("data set"));
    let values = options.values();
    if images.len() != labels.len() {
        return fail(format!(
            "{} images but {} labels",
            images.len(),
            labels.len()
        ));
    }
    if images.is_empty() {
        return fail("no images".into());
    }
    if images.len() > MAX_IMAGES {
        return fail(format!(
            "{} images; a data set holds at most {MAX_IMAGES}",
            images.len()
        ));
    }
    if let Some(bad) = images.iter().position(|image| image.len() != values) {
        return fail(format!(
            "image {bad} has {} values, not {}×{}×{}",
            images[bad].len(),
            options.width,
            options.height,
            values / (options.width * options.height)
        ));
    }
    if let Some(&label) = labels.iter().find(|&&l| usize::from(l) >= MAX_CLASSES) {
        return fail(format!("label {label}: at most {MAX_CLASSES} classes"));
    }
    let (train, test) = split(images.len(), options.test_share, options.seed);
    let mut out = start_shard(
        options.width,
        options.height,
        options.encoding(),
        train.len(),
        test.len(),
        options.seed,
    )?;
    let mut bits = Vec::with_capacity(values);
    for (part, indices) in [(0u64, &train), (1, &test)] {
        for (n, &index) in indices.iter().enumerate() {
            let image = &images[index];
            let level = match options.binarize {
                Binarize::Threshold(level) => level,
                Binarize::Sample => {
                    bits.clear();
                    bits.extend(image.iter().enumerate().map(|(value, &ink)| {
                        binarize(ink, options.seed, part, n as u64, value as u64)
                    }));
                    pack_image(&bits, &mut out);
                    continue;
                }
                Binarize::EachEpoch | Binarize::Keep => {
                    pack_levels(image, &mut out);
                    continue;
                }
            };
            bits.clear();
            bits.extend(image.iter().map(|&ink| ink >= level));
            pack_image(&bits, &mut out);
        }
        out.extend(indices.iter().map(|&index| labels[index]));
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
    Ok(seal(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shard;

    fn options(width: usize, height: usize, crop: bool) -> ImportOptions {
        ImportOptions {
            width,
            height,
            crop,
            ..ImportOptions::default()
        }
    }

    #[test]
    fn ink_is_lightness_or_darkness_and_transparency_is_background() {
        let rgba = DecodedImage {
            width: 3,
            height: 1,
            channels: 4,
            pixels: vec![255, 255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 0],
        };
        assert_eq!(rgba.ink(false), vec![255, 0, 0]);
        assert_eq!(rgba.ink(true), vec![0, 255, 0]);
        let grey = DecodedImage {
            width: 2,
            height: 1,
            channels: 1,
            pixels: vec![10, 200],
        };
        assert_eq!(grey.ink(true), vec![245, 55]);
    }

    #[test]
    fn resizing_averages_areas_and_keeps_the_aspect() {
        // A 4×4 checkerboard of 2×2 blocks halves to its blocks exactly.
        let blocks = [
            0, 0, 255, 255, 0, 0, 255, 255, 100, 100, 50, 50, 100, 100, 50, 50,
        ];
        assert_eq!(
            resize(&blocks, 4, 4, &options(2, 2, false)),
            [0, 255, 100, 50]
        );
        // Enlarging repeats each pixel.
        assert_eq!(
            resize(&[7, 9], 2, 1, &options(4, 2, false)),
            [7, 7, 9, 9, 7, 7, 9, 9]
        );
        // A wide image fitted into a square: centred, blank margins above and below.
        let wide = vec![255u8; 4 * 2];
        let fitted = resize(&wide, 4, 2, &options(4, 4, false));
        assert_eq!(fitted, [[0; 4], [255; 4], [255; 4], [0; 4]].concat());
        // Cropped instead: it fills the square from the middle.
        let stripes: Vec<u8> = (0..2).flat_map(|_| [0, 80, 160, 240]).collect();
        assert_eq!(
            resize(&stripes, 4, 2, &options(2, 2, true)),
            [80, 160, 80, 160]
        );
        // Partial pixels weighted by overlap: a 3×1 image fitted into one pixel fills a third of
        // it (mean ink 85, the rest margin); cropped, the pixel is the middle one.
        assert_eq!(resize(&[0, 0, 255], 3, 1, &options(1, 1, false)), [28]);
        assert_eq!(resize(&[0, 255, 0], 3, 1, &options(1, 1, true)), [255]);
        assert_eq!(
            resize(&[0, 0, 90, 90, 90], 5, 1, &options(2, 1, true)),
            [45, 90]
        );
    }

    #[test]
    fn the_split_is_seeded_disjoint_and_keeps_one_of_each() {
        let (train, test) = split(100, 0.1, 4);
        assert_eq!((train.len(), test.len()), (90, 10));
        assert_eq!(split(100, 0.1, 4), (train.clone(), test.clone()));
        assert_ne!(split(100, 0.1, 5).1, test);
        let mut all = [train, test].concat();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(split(2, 0.1, 0).1.len(), 1);
        assert_eq!(split(3, 0.99, 0).0.len(), 1);
        assert_eq!(split(5, 0.0, 0).1.len(), 0);
    }

    #[test]
    fn a_built_data_set_reads_back_as_a_shard_with_its_bits_and_labels() {
        let options = ImportOptions {
            width: 30,
            height: 17,
            test_share: 0.25,
            ..ImportOptions::default()
        };
        let images: Vec<Vec<u8>> = (0..8u8)
            .map(|i| {
                (0..30 * 17)
                    .map(|p| if p % 8 == usize::from(i) { 200 } else { 3 })
                    .collect()
            })
            .collect();
        let labels: Vec<u8> = (0..8).map(|i| i % 3).collect();
        let bytes = build_shard(&images, &labels, &options).unwrap();
        let shard = Shard::parse(&bytes, "built").unwrap();
        let (train, test) = (shard.train(), shard.test());
        assert_eq!((train.len(), test.len()), (6, 2));
        assert_eq!((train.width(), train.height()), (30, 17));
        let (train_at, test_at) = split(8, 0.25, 0);
        for (part, at) in [(train, train_at), (test, test_at)] {
            for (n, &index) in at.iter().enumerate() {
                assert_eq!(part.labels()[n], labels[index]);
                for (p, &ink) in images[index].iter().enumerate() {
                    assert_eq!(part.level(n, p), if ink >= 128 { 255 } else { 0 });
                }
            }
        }
    }

    #[test]
    fn what_cannot_be_a_data_set_is_refused_by_name() {
        let o = ImportOptions::default();
        let says = |images: &[Vec<u8>], labels: &[u8], o: &ImportOptions, what: &str| {
            let error = build_shard(images, labels, o).unwrap_err().to_string();
            assert!(error.contains(what), "{error}");
        };
        says(&[], &[], &o, "no images");
        says(&[vec![0; 10]], &[0], &o, "image 0 has 10 values");
        says(&[vec![0; 784]], &[12], &o, "label 12");
        says(&[vec![0; 784]], &[], &o, "1 images but 0 labels");
        let big = ImportOptions { width: 65, ..o };
        says(&[vec![0; 65 * 28]], &[0], &big, "width 65");
        let share = ImportOptions {
            test_share: 1.0,
            ..o
        };
        says(&[vec![0; 784]], &[0], &share, "test share 1");
    }
}
