//! The pixel packing shared by the builder, the loader and the GPU gather kernel: pixel `p` of an
//! image is bit `p % 32` of little-endian `u32` word `p / 32` of that image's words.

pub(crate) const BITS_PER_WORD: usize = 32;

pub(crate) fn words_per_image(pixels: usize) -> usize {
    pixels.div_ceil(BITS_PER_WORD)
}

/// Packs one image of 0/1 values into `out` (which must hold `words_per_image` words of bytes).
pub(crate) fn pack_image(pixels: &[bool], out: &mut Vec<u8>) {
    for chunk in pixels.chunks(BITS_PER_WORD) {
        let word = chunk
            .iter()
            .enumerate()
            .fold(0u32, |word, (bit, &on)| word | (u32::from(on) << bit));
        out.extend_from_slice(&word.to_le_bytes());
    }
}

pub(crate) fn pixel(image_bytes: &[u8], pixel: usize) -> bool {
    let word = pixel / BITS_PER_WORD;
    let bytes = &image_bytes[word * 4..word * 4 + 4];
    let word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    (word >> (pixel % BITS_PER_WORD)) & 1 == 1
}
