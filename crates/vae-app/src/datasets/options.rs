//! The import's options as the visitor types them, and what they mean.

use mnist_shard::import::{Binarize, ImportOptions};

/// The options form, as typed (parsed when used).
#[derive(Clone, Debug, PartialEq)]
pub struct OptionsForm {
    pub width: String,
    pub height: String,
    pub crop: bool,
    pub invert: bool,
    /// Red, green and blue, not grey.
    pub colour: bool,
    /// "threshold", "sample" (once), "epoch" (drawn each epoch) or "keep" (grey levels).
    pub binarize: String,
    pub threshold: String,
    /// Percent held out.
    pub test_percent: String,
    pub seed: String,
    pub name: String,
}

impl OptionsForm {
    pub(super) fn new(name: String) -> Self {
        Self {
            width: "28".into(),
            height: "28".into(),
            crop: false,
            invert: false,
            colour: false,
            binarize: "threshold".into(),
            threshold: "128".into(),
            test_percent: "10".into(),
            seed: "0".into(),
            name,
        }
    }

    /// The options, or what to change.
    pub fn parse(&self) -> Result<ImportOptions, String> {
        let whole = |text: &str, what: &str, max: u64| -> Result<u64, String> {
            text.trim()
                .parse::<u64>()
                .ok()
                .filter(|v| *v <= max)
                .ok_or_else(|| format!("{what} must be a whole number up to {max}"))
        };
        let side = mnist_shard::import::MAX_SIDE as u64;
        let percent: f64 = self
            .test_percent
            .trim()
            .parse()
            .ok()
            .filter(|p: &f64| (0.0..100.0).contains(p))
            .ok_or("the test share must be a percentage from 0 to below 100")?;
        let options = ImportOptions {
            width: whole(&self.width, "the width", side)? as usize,
            height: whole(&self.height, "the height", side)? as usize,
            crop: self.crop,
            invert: self.invert,
            colour: self.colour,
            binarize: match self.binarize.as_str() {
                "sample" => Binarize::Sample,
                "epoch" => Binarize::EachEpoch,
                "keep" => Binarize::Keep,
                _ => Binarize::Threshold(whole(&self.threshold, "the threshold", 255)? as u8),
            },
            test_share: percent / 100.0,
            seed: whole(&self.seed, "the seed", u64::from(u32::MAX))?,
        };
        options.check().map_err(|e| e.kind.to_string())?;
        if self.name.trim().is_empty() {
            return Err("give the data set a name".into());
        }
        Ok(options)
    }
}
