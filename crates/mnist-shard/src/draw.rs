//! Binary images drawn from grey levels ("dynamic binarisation"): a data set stored as levels
//! with the `drawn` flag is seen by training as a fresh binary image each epoch, each value on
//! with probability level/255, and by evaluation as one fixed draw, so its test figures compare
//! from run to run. Both engines and the loader draw through this one function (the GPU's
//! `shaders/gather_batch.wgsl` mirrors it bit for bit), so they see the same bits.
//!
//! The draw is a hash of (seed, epoch, image, value), not a stream: any batch is drawn alone, in
//! any order, on any engine, using only `u32` arithmetic (WGSL has no 64-bit integers).

/// The epoch number evaluation draws with: one fixed draw of each test (or training) image.
pub const EVALUATION_EPOCH: u32 = u32::MAX;

/// The PCG hash (O'Neill's RXS-M-XS output of one LCG step): a 32-bit mixer with full avalanche.
fn pcg(input: u32) -> u32 {
    let state = input.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// Whether value `value` of image `image` is on in epoch `epoch`'s draw with `seed`: a uniform
/// u = top 24 bits of the hash / 2^24, on iff u < level / 255, compared exactly in integers
/// (level 0 is never on, 255 always).
pub fn draw_bit(level: u8, seed: u64, epoch: u32, image: u32, value: u32) -> bool {
    let (low, high) = (seed as u32, (seed >> 32) as u32);
    let hash = pcg(low ^ pcg(high ^ pcg(epoch ^ pcg(image ^ pcg(value)))));
    (hash >> 8) * 255 < u32::from(level) << 24
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_follow_the_level_and_change_with_every_key() {
        assert!((0..1000).all(|v| !draw_bit(0, 7, 0, 0, v)));
        assert!((0..1000).all(|v| draw_bit(255, 7, 0, 0, v)));
        // 20,000 draws at 64/255: sd of the share ≈ 0.003.
        let on = (0..20_000).filter(|&v| draw_bit(64, 7, 3, 9, v)).count();
        let share = on as f64 / 20_000.0;
        assert!((share - 64.0 / 255.0).abs() < 0.012, "{share}");
        let draw = |seed, epoch, image| -> Vec<bool> {
            (0..256)
                .map(|v| draw_bit(128, seed, epoch, image, v))
                .collect()
        };
        let base = draw(7, 3, 9);
        assert_eq!(base, draw(7, 3, 9));
        for other in [
            draw(8, 3, 9),
            draw(7 | 1 << 40, 3, 9),
            draw(7, 4, 9),
            draw(7, 3, 10),
        ] {
            let same = base.iter().zip(&other).filter(|(a, b)| a == b).count();
            assert!((90..166).contains(&same), "{same} of 256 agree");
        }
    }

    /// Values the GPU shader's test compares against: a change here must change it too.
    #[test]
    fn the_hash_is_pinned() {
        let bits: String = (0..32)
            .map(|v| {
                if draw_bit(100, 0x1234_5678_9abc, 2, 5, v) {
                    '1'
                } else {
                    '0'
                }
            })
            .collect();
        assert_eq!(bits, PINNED);
    }

    const PINNED: &str = "10100000011010100110000000100101";
}
