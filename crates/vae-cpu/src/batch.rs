//! A batch of images as the step reads them: dense values (the loss's targets) and each image's
//! lit values (the sparse first layer's: bits that are on, or grey levels that are not 0, with
//! their levels), and the same the other way round. Grey levels mostly lit (photos) make a dense
//! batch instead, which the step multiplies densely.

use mnist_shard::draw::draw_bit;
use mnist_shard::Split;

/// Past this share of lit grey levels a batch is multiplied densely: a sparse sum reads a row of
/// W₁ per lit value, which beats the blocked dense product only while few are lit.
const DENSE_ABOVE: f64 = 0.4;

/// One batch of images: dense (the loss's targets) and, unless `dense`, as the lit values of each.
#[derive(Default)]
pub struct Batch {
    pub rows: usize,
    /// `[rows, input]`: 0 or 1, or grey levels in [0, 1].
    pub x: Vec<f32>,
    /// Grey levels, mostly lit: the first layer takes `x` densely, and `lit` is empty.
    pub dense: bool,
    /// The lit values of every image, image after image.
    pub lit: Vec<u32>,
    /// Their levels (in [0, 1]), beside `lit`, where they are grey levels; empty for bits (all 1).
    pub levels: Vec<f32>,
    /// Image r's lit values are `lit[starts[r]..starts[r + 1]]`.
    pub starts: Vec<usize>,
}

impl Batch {
    /// Fills the batch with `images[index]` for each index, in order, as epoch `epoch` sees
    /// them: bits as stored, levels drawn for that epoch where the data set draws them
    /// ([`mnist_shard::draw`]; evaluation passes its fixed epoch), other levels as level/255.
    pub fn gather(&mut self, split: &Split<'_>, indices: &[u32], epoch: u32) {
        let (values, encoding, seed) = (split.values_per_image(), split.encoding(), split.seed());
        let stride = 4 * split.words_per_image();
        let packed = split.packed_images();
        self.rows = indices.len();
        self.dense = false;
        self.x.clear();
        self.x.resize(self.rows * values, 0.0);
        self.lit.clear();
        self.levels.clear();
        self.starts.clear();
        self.starts.push(0);
        for (r, &index) in indices.iter().enumerate() {
            let image = &packed[index as usize * stride..(index as usize + 1) * stride];
            let x = &mut self.x[r * values..(r + 1) * values];
            if encoding.depth == 1 {
                for (w, bytes) in image.chunks_exact(4).enumerate() {
                    let mut word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                    while word != 0 {
                        let value = w * 32 + word.trailing_zeros() as usize;
                        word &= word - 1;
                        if value < values {
                            self.lit.push(value as u32);
                            x[value] = 1.0;
                        }
                    }
                }
            } else if encoding.drawn {
                for (value, &level) in image[..values].iter().enumerate() {
                    if draw_bit(level, seed, epoch, index, value as u32) {
                        self.lit.push(value as u32);
                        x[value] = 1.0;
                    }
                }
            } else {
                for (value, (out, &level)) in x.iter_mut().zip(&image[..values]).enumerate() {
                    *out = f32::from(level) / 255.0;
                    if level != 0 {
                        self.lit.push(value as u32);
                        self.levels.push(*out);
                    }
                }
            }
            self.starts.push(self.lit.len());
        }
        self.dense_if_mostly_lit(values);
    }

    /// Drops the sparse form of grey levels when too many are lit for it to pay.
    fn dense_if_mostly_lit(&mut self, values: usize) {
        let total = (self.rows * values).max(1) as f64;
        if !self.levels.is_empty() && self.lit.len() as f64 > DENSE_ABOVE * total {
            self.dense = true;
            self.lit.clear();
            self.levels.clear();
            self.starts.clear();
            self.starts.resize(self.rows + 1, 0);
        }
    }

    /// The batch from values `[rows, input]`: bits when they are all 0 or 1, grey levels
    /// otherwise (sparse or dense as for a gathered batch).
    pub fn from_values(&mut self, x: &[f32], input: usize) {
        self.rows = x.len() / input.max(1);
        self.x.clear();
        self.x.extend_from_slice(&x[..self.rows * input]);
        let grey = self.x.iter().any(|&v| v != 0.0 && v != 1.0);
        self.dense = false;
        self.lit.clear();
        self.levels.clear();
        self.starts.clear();
        self.starts.push(0);
        for row in self.x.chunks_exact(input.max(1)) {
            for (value, &level) in row.iter().enumerate().filter(|(_, &v)| v != 0.0) {
                self.lit.push(value as u32);
                if grey {
                    self.levels.push(level);
                }
            }
            self.starts.push(self.lit.len());
        }
        self.dense_if_mostly_lit(input);
    }

    pub(crate) fn lit_pixels(&self, row: usize) -> &[u32] {
        &self.lit[self.starts[row]..self.starts[row + 1]]
    }

    /// Image `row`'s lit levels, beside [`Batch::lit_pixels`]; None for bits (all 1).
    pub(crate) fn lit_levels(&self, row: usize) -> Option<&[f32]> {
        (!self.levels.is_empty()).then(|| &self.levels[self.starts[row]..self.starts[row + 1]])
    }

    /// The batch the other way round: for each pixel, the images that light it (a counting
    /// sort of the lit pixels), into `out`'s reused vectors.
    pub(crate) fn index_by_pixel(&self, pixels: usize, out: &mut ByPixel) {
        out.starts.clear();
        out.starts.resize(pixels + 1, 0);
        for &pixel in &self.lit {
            out.starts[pixel as usize + 1] += 1;
        }
        for p in 0..pixels {
            out.starts[p + 1] += out.starts[p];
        }
        out.images.clear();
        out.images.resize(self.lit.len(), 0);
        out.levels.clear();
        out.levels.resize(self.levels.len(), 0.0);
        out.next.clear();
        out.next.extend_from_slice(&out.starts[..pixels]);
        for row in 0..self.rows {
            let start = self.starts[row];
            for (k, &pixel) in self.lit_pixels(row).iter().enumerate() {
                let at = &mut out.next[pixel as usize];
                out.images[*at] = row as u32;
                if !self.levels.is_empty() {
                    out.levels[*at] = self.levels[start + k];
                }
                *at += 1;
            }
        }
    }
}

/// For each pixel, the images of a batch that light it: `images[starts[p]..starts[p + 1]]`,
/// with their levels beside them in `levels` for grey levels (empty for bits).
#[derive(Default)]
pub(crate) struct ByPixel {
    pub(crate) starts: Vec<usize>,
    pub(crate) images: Vec<u32>,
    pub(crate) levels: Vec<f32>,
    next: Vec<usize>,
}

impl ByPixel {
    /// The images lighting `pixel`, and their levels for grey levels.
    pub(crate) fn at(&self, pixel: usize) -> (&[u32], Option<&[f32]>) {
        let range = self.starts[pixel]..self.starts[pixel + 1];
        let levels = (!self.levels.is_empty()).then(|| &self.levels[range.clone()]);
        (&self.images[range], levels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mnist_shard::draw::EVALUATION_EPOCH;
    use mnist_shard::import::Binarize;
    use mnist_shard::Shard;
    use vae_model::conformance::{colour_data, odd_size_colour_data, odd_size_data};

    /// A gathered batch is each image as its epoch sees it: the same as the loader's
    /// `image_in_epoch`, sparse where binary, and drawn afresh each epoch where drawn.
    #[test]
    fn gathered_batches_are_the_images_as_each_epoch_sees_them() {
        let indices = [3u32, 0, 17, 35];
        for (bytes, grey, dense, drawn) in [
            (odd_size_data().1, false, false, false),
            (odd_size_colour_data(Binarize::Keep).1, true, false, false),
            (
                colour_data(30, 17, Binarize::Keep, true).1,
                true,
                true,
                false,
            ),
            (
                odd_size_colour_data(Binarize::EachEpoch).1,
                false,
                false,
                true,
            ),
        ] {
            let shard = Shard::parse(&bytes, "data").unwrap();
            let train = shard.train();
            let values = train.values_per_image();
            let mut batch = Batch::default();
            let mut seen = Vec::new();
            for epoch in [1, 2, EVALUATION_EPOCH] {
                batch.gather(&train, &indices, epoch);
                assert_eq!((batch.rows, batch.dense), (4, dense));
                let expected: Vec<f32> = indices
                    .iter()
                    .flat_map(|&i| train.image_in_epoch(i as usize, epoch))
                    .collect();
                assert_eq!(batch.x, expected);
                for r in 0..batch.rows {
                    let row = &batch.x[r * values..(r + 1) * values];
                    let lit: Vec<u32> = (0..values as u32)
                        .filter(|&v| !dense && row[v as usize] != 0.0)
                        .collect();
                    assert_eq!(batch.lit_pixels(r), &lit[..]);
                    let levels: Vec<f32> = lit.iter().map(|&v| row[v as usize]).collect();
                    assert_eq!(batch.lit_levels(r), (grey && !dense).then_some(&levels[..]));
                }
                seen.push(batch.x.clone());
            }
            assert_eq!(seen[0] != seen[1], drawn, "a new draw each epoch");
        }
    }

    #[test]
    fn grey_levels_are_sparse_with_their_levels_until_mostly_lit() {
        let mut batch = Batch::default();
        batch.from_values(&[0.0, 1.0, 1.0, 0.0, 0.0, 1.0], 3);
        assert!(!batch.dense);
        assert_eq!(
            (batch.lit_pixels(0), batch.lit_pixels(1)),
            (&[1, 2][..], &[2][..])
        );
        assert_eq!(batch.lit_levels(0), None);
        // A third lit: sparse, each lit value with its level, and the same by pixel.
        batch.from_values(&[0.0, 0.5, 0.0, 0.0, 0.25, 0.0], 3);
        assert!(!batch.dense);
        assert_eq!(batch.lit_levels(1), Some(&[0.25][..]));
        let mut by_pixel = ByPixel::default();
        batch.index_by_pixel(3, &mut by_pixel);
        assert_eq!(by_pixel.at(1), (&[0, 1][..], Some(&[0.5, 0.25][..])));
        assert_eq!(by_pixel.at(2), (&[][..], Some(&[][..])));
        // Half lit: dense.
        batch.from_values(&[0.0, 0.5, 1.0, 0.0, 0.25, 0.0], 3);
        assert!(batch.dense);
        assert_eq!(batch.x, [0.0, 0.5, 1.0, 0.0, 0.25, 0.0]);
        assert!(batch.lit.is_empty() && batch.lit_pixels(1).is_empty());
    }
}
