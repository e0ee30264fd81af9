//! Every way a shard can be wrong, replayed from `tests/corpus/` (the fuzz regression corpus:
//! hand-made corruptions of a real 16 + 4 image shard, and anything the fuzzer ever found).
//! Each file must give exactly the error its name announces, and never a panic.

use std::path::Path;

use mnist_shard::{decompress, Shard, ShardError, ShardErrorKind};

fn load(path: &Path) -> Result<(usize, usize), ShardError> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let bytes = std::fs::read(path).unwrap();
    let raw = decompress(&bytes, &name)?;
    let shard = Shard::parse(&raw, &name)?;
    Ok((shard.train().len(), shard.test().len()))
}

fn corpus() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_file_gives_the_error_its_name_announces() {
    let files = corpus();
    assert!(files.len() >= 15, "corpus went missing: {files:?}");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let result = load(&path);
        let kind = result.as_ref().err().map(|error| &error.kind);
        let ok = match name.split('.').next().unwrap() {
            "valid-16-train-4-test" => result == Ok((16, 4)),
            // Version 2: colour grey levels kept, and grey levels drawn each epoch.
            "valid-v2-colour-8-train-2-test" | "valid-v2-drawn-8-train-2-test" => {
                result == Ok((8, 2))
            }
            "empty"
            | "truncated-in-magic"
            | "truncated-in-header"
            | "truncated-in-images"
            | "truncated-last-byte" => matches!(kind, Some(ShardErrorKind::Truncated { .. })),
            "bad-magic" | "not-a-shard-png" => matches!(kind, Some(ShardErrorKind::BadMagic)),
            "unsupported-version" => matches!(
                kind,
                Some(ShardErrorKind::UnsupportedVersion {
                    found: 3,
                    supported: 2
                })
            ),
            "bad-checksum" => matches!(kind, Some(ShardErrorKind::BadChecksum { .. })),
            "label-out-of-range" => matches!(
                kind,
                Some(ShardErrorKind::LabelOutOfRange {
                    split: "train",
                    index: 3,
                    label: 10
                })
            ),
            "trailing-bytes" => matches!(kind, Some(ShardErrorKind::TrailingBytes { .. })),
            "counts-do-not-match-layout" | "zero-width" | "unknown-flags" | "bits-drawn" => {
                matches!(kind, Some(ShardErrorKind::BadLayout(_)))
            }
            "corrupt-gzip" => matches!(kind, Some(ShardErrorKind::Gzip(_))),
            // A fuzzer find: it only has to fail cleanly.
            other if other.starts_with("fuzz-") => result.is_err(),
            other => panic!("corpus file {other} has no expected outcome: name it"),
        };
        assert!(ok, "{name}: unexpected outcome {result:?}");
        if let Err(error) = result {
            assert!(
                error.to_string().starts_with(&format!("{name}: ")),
                "{error}"
            );
        }
    }
}

#[test]
fn error_messages_say_what_is_wrong_and_what_to_do() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let message = |file: &str| load(&dir.join(file)).unwrap_err().to_string();
    assert_eq!(
        message("truncated-in-images.shard"),
        "truncated-in-images.shard: truncated: 2084 bytes expected, only 1000 present (an interrupted download?)"
    );
    assert!(message("bad-checksum.shard").contains("the file is corrupt"));
    assert!(message("unsupported-version.shard").contains("rebuild the shard or update the app"));
    assert!(
        message("label-out-of-range.shard").contains("train label 3 is 10, but digits are 0 to 9")
    );
}
