//! The value packing shared by the builders, the loader and the GPU gather kernel: value `v` of
//! an image stored at `d` bits a value (1 or 8) is bits `(v·d) % 32 ..` of little-endian `u32`
//! word `(v·d) / 32` of that image's words. At 1 bit that is bit `v % 32` of word `v / 32`; at 8,
//! simply byte `v`.

pub(crate) const BITS_PER_WORD: usize = 32;

/// Words holding `bits` bits.
pub(crate) fn words_per_image(bits: usize) -> usize {
    bits.div_ceil(BITS_PER_WORD)
}

/// Packs one image of 8-bit levels into `out`, padded with zeros to a whole word.
pub(crate) fn pack_levels(levels: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(levels);
    out.resize(out.len() + (4 - levels.len() % 4) % 4, 0);
}

/// Value `index` of one image's bytes at `depth` bits a value, as a level 0-255 (a bit is 0 or 255).
pub(crate) fn level(image_bytes: &[u8], index: usize, depth: u8) -> u8 {
    if depth == 8 {
        image_bytes[index]
    } else if pixel(image_bytes, index) {
        255
    } else {
        0
    }
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
