//! A model built for images records their shape: it takes those and no others of the same
//! size, its checkpoint carries the shape, and a model without one takes any of its size.

use vae_model::{
    inspect_checkpoint, read_checkpoint, write_checkpoint, BatchCursor, BindingLimits, ImageShape,
    TrainingPosition, VaeConfig, ALIGN,
};

#[test]
fn a_model_takes_the_images_it_was_built_for_and_its_checkpoint_says_which() {
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
