//! [`ImageShape`]: what images a model is for (width, height, channels), recorded in its
//! settings and its checkpoints, so a model meets only data of its own shape: 32 × 24 grey and
//! 16 × 16 colour images both have 768 values, and neither model reads the other's.

/// The width, height and channels (1 grey, 3 colour) of a model's images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ImageShape {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
}

impl ImageShape {
    /// The bundled MNIST's: 28 × 28, grey.
    pub const MNIST: ImageShape = ImageShape {
        width: 28,
        height: 28,
        channels: 1,
    };

    /// A data split's.
    pub fn of(split: &mnist_shard::Split<'_>) -> Self {
        Self {
            width: split.width(),
            height: split.height(),
            channels: split.channels(),
        }
    }

    /// Values an image has: the model's inputs.
    pub fn values(&self) -> usize {
        self.width * self.height * self.channels
    }

    /// "28×28", or "32×32 in colour".
    pub fn describe(&self) -> String {
        let colour = if self.channels == 3 { " in colour" } else { "" };
        format!("{}×{}{colour}", self.width, self.height)
    }

    /// As a checkpoint's metadata writes it: `WxHxC`.
    pub fn to_metadata(&self) -> String {
        format!("{}x{}x{}", self.width, self.height, self.channels)
    }

    /// A checkpoint's `WxHxC`, if it is one (sides 1 to 4096, 1 or 3 channels).
    pub fn from_metadata(text: &str) -> Option<Self> {
        let mut parts = text.split('x').map(|part| part.parse::<usize>().ok());
        let shape = Self {
            width: parts.next()??,
            height: parts.next()??,
            channels: parts.next()??,
        };
        let fine = parts.next().is_none()
            && (1..=4096).contains(&shape.width)
            && (1..=4096).contains(&shape.height)
            && matches!(shape.channels, 1 | 3);
        fine.then_some(shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_read_back_as_written_and_say_what_they_are() {
        let colour = ImageShape {
            width: 32,
            height: 24,
            channels: 3,
        };
        assert_eq!(
            ImageShape::from_metadata(&colour.to_metadata()),
            Some(colour)
        );
        assert_eq!(
            (colour.values(), colour.describe()),
            (2304, "32×24 in colour".into())
        );
        assert_eq!(ImageShape::MNIST.describe(), "28×28");
        for bad in [
            "",
            "28x28",
            "28x28x2",
            "0x28x1",
            "28x28x1x1",
            "axbxc",
            "5000x1x1",
        ] {
            assert_eq!(ImageShape::from_metadata(bad), None, "{bad}");
        }
    }

    /// A model built for images records their shape: it takes those and no others of the same
    /// size, its checkpoint carries the shape, and a model without one takes any of its size.
    #[test]
    fn a_model_takes_the_images_it_was_built_for_and_its_checkpoint_says_which() {
        use crate::{
            inspect_checkpoint, read_checkpoint, write_checkpoint, BatchCursor, BindingLimits,
            TrainingPosition, VaeConfig, ALIGN,
        };
        let grey = ImageShape {
            width: 32,
            height: 24,
            channels: 1,
        };
        let colour = ImageShape {
            width: 16,
            height: 16,
            channels: 3,
        };
        assert_eq!(grey.values(), colour.values());
        let base = VaeConfig {
            sizes: vae_reference::Sizes {
                input: 784,
                hidden: 8,
                latent: 2,
            },
            ..VaeConfig::default()
        };
        let model = base.for_images(grey);
        assert_eq!(model.sizes.input, 768);
        assert!(model.takes(grey) && !model.takes(colour));
        let refused = model.check_shape(colour).unwrap_err().to_string();
        assert!(refused.contains("for images of 32×24, and the data's are 16×16 in colour"));
        let unrecorded = VaeConfig {
            image: None,
            ..model
        };
        assert!(unrecorded.takes(grey) && unrecorded.takes(colour));
        assert!(!unrecorded.takes(ImageShape::MNIST));
        let wrong = VaeConfig {
            image: Some(ImageShape::MNIST),
            ..model
        };
        let said = wrong.validate_settings().unwrap_err().to_string();
        assert!(said.contains("images of 28×28 have 784 values, but the input size is 768"));

        let write = |config: &VaeConfig| {
            let layout = vae_reference::Layout::aligned(config.sizes, ALIGN);
            let params = vae_reference::init_params(&layout, 1);
            let zeros = vec![0.0; layout.len()];
            let at = TrainingPosition {
                step: 3,
                cursor: BatchCursor {
                    epoch: 1,
                    position: 0,
                },
            };
            write_checkpoint(config, &layout, [&params, &zeros, &zeros], at).unwrap()
        };
        for config in [model, unrecorded] {
            let bytes = write(&config);
            let read = read_checkpoint(&bytes, &BindingLimits::NONE, |_| {}).unwrap();
            assert_eq!(read.config.image, config.image);
            assert_eq!(inspect_checkpoint(&bytes).unwrap().image, config.image);
        }
        // A shape that is not one, in the file: refused by name.
        let bytes = write(&model);
        let at = bytes.windows(7).position(|w| w == b"32x24x1").unwrap();
        let mut bad = bytes.clone();
        bad[at..at + 7].copy_from_slice(b"32x24x2");
        let error = read_checkpoint(&bad, &BindingLimits::NONE, |_| {}).unwrap_err();
        assert!(
            error.to_string().contains("is not WIDTHxHEIGHTxCHANNELS"),
            "{error}"
        );
    }
}
