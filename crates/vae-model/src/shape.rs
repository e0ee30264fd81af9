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
}
