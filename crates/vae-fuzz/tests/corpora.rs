//! Replays the committed fuzzing corpora (`fuzz/corpus/<target>/`, minimised by cargo fuzz
//! cmin) through the same checks the fuzz targets run, on stable, in every `cargo test`: an input
//! that once crashed a target and was fixed stays fixed.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let bytes = std::fs::read(&path).expect("a corpus file");
            (path.display().to_string(), bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_replays_without_a_failure() {
    for (target, check) in vae_fuzz::TARGETS {
        let files = corpus(target);
        // A corpus that lost its files would make this test pass vacuously.
        assert!(files.len() >= 3, "{target}: only {} inputs", files.len());
        for (name, bytes) in files {
            let caught = std::panic::catch_unwind(|| check(&bytes));
            assert!(caught.is_ok(), "{target} failed on {name}");
        }
    }
}

#[test]
fn the_corpora_reach_the_accepting_paths() {
    // Each corpus holds inputs that are accepted whole, so the properties asserted on success
    // are exercised, not only the refusals.
    let limits = vae_fuzz::generous_limits();
    let loads = corpus("checkpoint")
        .iter()
        .filter(|(_, bytes)| vae_model::read_checkpoint(bytes, &limits, |_| {}).is_ok())
        .count();
    assert!(loads >= 2, "{loads} checkpoints load");
    let shards = corpus("shard")
        .iter()
        .filter(|(_, bytes)| {
            mnist_shard::decompress(bytes, "corpus")
                .is_ok_and(|raw| mnist_shard::Shard::parse(&raw, "corpus").is_ok())
        })
        .count();
    assert!(shards >= 1, "{shards} shards parse");
    let links = corpus("fragment")
        .iter()
        .filter(|(_, bytes)| {
            std::str::from_utf8(bytes).is_ok_and(|text| vae_app::link::parse_fragment(text).is_ok())
        })
        .count();
    assert!(links >= 2, "{links} fragments parse");
    let arrays = corpus("npy")
        .iter()
        .filter(|(_, bytes)| mnist_shard::npy::read_npy(bytes, "corpus").is_ok())
        .count();
    assert!(arrays >= 2, "{arrays} arrays read");
}
