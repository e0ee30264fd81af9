//! A lost device on a real adapter (lavapipe where there is no GPU): destroying it, as a driver
//! reset would, is announced to whoever waits, every later request fails with
//! `GpuError::DeviceLost` instead of panicking, and a new device takes the last checkpoint and
//! trains on exactly as the old one would have.

use vae_gpu::vae::Vae;
use vae_gpu::GpuError;

mod common;
use common::{context, small, with_shard};

#[test]
fn a_destroyed_device_is_reported_and_a_new_one_takes_the_checkpoint() {
    with_shard(|shard| {
        let gpu = context();
        let mut vae = pollster::block_on(Vae::new(gpu.clone(), small())).unwrap();
        pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
        vae.train_steps(6).unwrap();
        let checkpoint = pollster::block_on(vae.save()).unwrap();
        let slider = pollster::block_on(vae.inference(1)).unwrap();
        let latent = small().sizes.latent;

        let announced = gpu.when_lost();
        gpu.destroy_device();
        let reason = pollster::block_on(announced);
        assert!(reason.contains("Destroyed"), "{reason}");
        // Late listeners hear it at once.
        assert_eq!(pollster::block_on(gpu.when_lost()), reason);
        assert!(matches!(gpu.check_device(), Err(GpuError::DeviceLost(_))));
        let decode = vae
            .request_decode(&slider, &vec![0.0; latent])
            .map(|read| pollster::block_on(read.wait()));
        assert!(
            matches!(
                decode,
                Err(GpuError::DeviceLost(_)) | Ok(Err(GpuError::DeviceLost(_)))
            ),
            "a decode on a lost device: {decode:?}"
        );
        assert!(matches!(vae.train_steps(1), Err(GpuError::DeviceLost(_))));

        // The recovery: a new device, the checkpoint, the same training from there.
        let mut restored = pollster::block_on(Vae::load(context(), &checkpoint)).unwrap();
        assert_eq!(restored.step(), 6);
        pollster::block_on(restored.set_training_data(&shard.train())).unwrap();
        let mut reference = pollster::block_on(Vae::load(context(), &checkpoint)).unwrap();
        pollster::block_on(reference.set_training_data(&shard.train())).unwrap();
        restored.train_steps(4).unwrap();
        reference.train_steps(4).unwrap();
        assert_eq!(
            pollster::block_on(restored.read_parameters()).unwrap(),
            pollster::block_on(reference.read_parameters()).unwrap()
        );
    });
}
