//! The first digit the page shows: the bundled shard's first test image (a 7), known before the
//! data arrives, so a trained model opens on its reconstruction, crisp, rather than on the
//! blurry average the decoder gives at z = 0 (one click away).

/// Row by row, `#` for an inked pixel.
const ROWS: [&str; 28] = [
    "............................",
    "............................",
    "............................",
    "............................",
    "............................",
    "............................",
    "............................",
    "......###...................",
    "......#############.#.......",
    ".......#..###########.......",
    "..................###.......",
    "...................##.......",
    "...................#........",
    "..................##........",
    ".................##.........",
    "................###.........",
    "................###.........",
    "...............###..........",
    "...............###..........",
    "..............###...........",
    "..............##............",
    ".............##.............",
    "............##..............",
    "...........####.............",
    "..........#.##..............",
    "...........###..............",
    "...........##...............",
    "............................",
];

/// The image as the model takes it: 0.0 or 1.0 per pixel, row-major.
pub fn first_test_digit() -> Vec<f32> {
    ROWS.iter()
        .flat_map(|row| row.bytes().map(|b| f32::from(u8::from(b == b'#'))))
        .collect()
}

#[cfg(test)]
mod tests {
    use mnist_shard::{decompress, Shard};

    #[test]
    fn is_the_bundled_shards_first_test_image() {
        let gz = include_bytes!("../../../../web/mnist.shard.gz");
        let raw = decompress(gz, "mnist.shard.gz").unwrap();
        let shard = Shard::parse(&raw, "mnist.shard.gz").unwrap();
        let image = shard.test().image_f32(0);
        let art: Vec<String> = image
            .chunks(28)
            .map(|row| {
                row.iter()
                    .map(|&p| if p > 0.5 { '#' } else { '.' })
                    .collect()
            })
            .collect();
        assert_eq!(
            super::first_test_digit(),
            image,
            "the shard's first test image:\n{art:#?}"
        );
    }
}
