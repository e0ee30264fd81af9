//! A batch of binarized images as the step reads them: dense 0/1 values (the loss's targets)
//! and each image's lit pixels (the sparse first layer's), and the same the other way round.

/// One batch of binarized images: dense (the loss's targets) and as the lit pixels of each.
#[derive(Default)]
pub struct Batch {
    pub rows: usize,
    /// `[rows, input]`, 0 or 1.
    pub x: Vec<f32>,
    /// The lit pixels of every image, image after image.
    pub lit: Vec<u32>,
    /// Image r's lit pixels are `lit[starts[r]..starts[r + 1]]`.
    pub starts: Vec<usize>,
}

impl Batch {
    /// Fills the batch from bit-packed images (mnist-shard's layout: pixel p is bit p % 32 of
    /// little-endian word p / 32): `images[index]` for each index, in order.
    pub fn gather(&mut self, packed: &[u8], words: usize, pixels: usize, indices: &[u32]) {
        self.rows = indices.len();
        self.x.clear();
        self.x.resize(self.rows * pixels, 0.0);
        self.lit.clear();
        self.starts.clear();
        self.starts.push(0);
        for (r, &index) in indices.iter().enumerate() {
            let image = &packed[index as usize * 4 * words..(index as usize + 1) * 4 * words];
            for (w, bytes) in image.chunks_exact(4).enumerate() {
                let mut word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                while word != 0 {
                    let pixel = w * 32 + word.trailing_zeros() as usize;
                    word &= word - 1;
                    if pixel < pixels {
                        self.lit.push(pixel as u32);
                        self.x[r * pixels + pixel] = 1.0;
                    }
                }
            }
            self.starts.push(self.lit.len());
        }
    }

    /// The batch from 0/1 values `[rows, pixels]` (anything above ½ counts as lit).
    pub fn from_values(&mut self, x: &[f32], pixels: usize) {
        self.rows = x.len() / pixels.max(1);
        self.x.clear();
        self.lit.clear();
        self.starts.clear();
        self.starts.push(0);
        for row in x.chunks_exact(pixels) {
            for (p, &value) in row.iter().enumerate() {
                let on = value > 0.5;
                self.x.push(f32::from(u8::from(on)));
                if on {
                    self.lit.push(p as u32);
                }
            }
            self.starts.push(self.lit.len());
        }
    }

    pub(crate) fn lit_pixels(&self, row: usize) -> &[u32] {
        &self.lit[self.starts[row]..self.starts[row + 1]]
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
        out.next.clear();
        out.next.extend_from_slice(&out.starts[..pixels]);
        for row in 0..self.rows {
            for &pixel in self.lit_pixels(row) {
                let at = &mut out.next[pixel as usize];
                out.images[*at] = row as u32;
                *at += 1;
            }
        }
    }
}

/// For each pixel, the images of a batch that light it: `images[starts[p]..starts[p + 1]]`.
#[derive(Default)]
pub(crate) struct ByPixel {
    pub(crate) starts: Vec<usize>,
    pub(crate) images: Vec<u32>,
    next: Vec<usize>,
}
