//! The API a page drives while it trains: reads that hold no borrow of the model and complete
//! while more work is queued, cached inference sessions, and an evaluation run in pieces.

use vae_gpu::vae::{prior_sample, Vae};
use vae_gpu::GpuError;
use vae_model::Snapshot;

mod common;
use common::{context, small, with_shard};

#[test]
fn a_metrics_read_completes_while_training_goes_on_and_covers_only_its_steps() {
    with_shard(|shard| {
        let mut vae = pollster::block_on(Vae::new(context(), small())).unwrap();
        pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
        vae.train_steps(5).unwrap();
        let read = vae.begin_metrics().unwrap();
        // One read at a time: a second is refused, not silently mixed up with the first.
        assert!(matches!(
            vae.begin_metrics(),
            Err(GpuError::InvalidInput(_))
        ));
        // The model is free while the read is out; a fence can ride in the steps' own submit.
        let fence = vae.train_steps_fenced(3).unwrap();
        let first = vae.finish_metrics(pollster::block_on(read.wait())).unwrap();
        let steps: Vec<u64> = first.steps.iter().map(|m| m.step).collect();
        assert_eq!(steps, vec![1, 2, 3, 4, 5]);
        assert!(first.diverged_at.is_none());
        let counter = pollster::block_on(fence.bytes()).unwrap();
        assert_eq!(u32::from_le_bytes(counter.try_into().unwrap()), 8);
        let second = pollster::block_on(vae.metrics()).unwrap();
        let steps: Vec<u64> = second.steps.iter().map(|m| m.step).collect();
        assert_eq!(steps, vec![6, 7, 8]);
        // A step is the gather (which advances the counter), the forward pass, the backward
        // pass and Adam: 17 dispatches.
        assert_eq!(vae.dispatches_per_step(), 17);
        let plain = vae.step_fence();
        assert_eq!(
            u32::from_le_bytes(
                pollster::block_on(plain.bytes())
                    .unwrap()
                    .try_into()
                    .unwrap()
            ),
            8
        );
    });
}

#[test]
fn sessions_give_what_the_one_shot_calls_give_and_follow_training() {
    with_shard(|shard| {
        let mut vae = pollster::block_on(Vae::new(context(), small())).unwrap();
        pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
        let test = shard.test();
        let x: Vec<f32> = (0..4).flat_map(|i| test.image_f32(i)).collect();
        let session = pollster::block_on(vae.inference(4)).unwrap();
        let one = pollster::block_on(vae.inference(1)).unwrap();
        assert_eq!(session.rows(), 4);

        let posterior = pollster::block_on(vae.request_encode(&session, &x).unwrap().wait());
        let (mean, logvar) = posterior.unwrap();
        assert_eq!(
            (mean, logvar.clone()),
            pollster::block_on(vae.encode(&x)).unwrap()
        );
        let (mean, _) = pollster::block_on(vae.encode(&x)).unwrap();

        // A reconstruction is the decoder at the posterior mean.
        let reconstruction = vae.request_reconstruction(&session, &x).unwrap();
        let reconstruction = pollster::block_on(reconstruction.wait()).unwrap();
        assert_eq!(
            reconstruction,
            pollster::block_on(vae.decode(&mean)).unwrap()
        );

        let z = prior_sample(9, 0, 1, 8);
        assert_eq!(z, prior_sample(9, 0, 1, 8));
        assert_ne!(z, prior_sample(9, 1, 1, 8));
        let before = pollster::block_on(vae.request_decode(&one, &z).unwrap().wait()).unwrap();
        assert_eq!(before, pollster::block_on(vae.decode(&z)).unwrap());
        // Several decodes in flight at once each get their own answer.
        let reads: Vec<_> = [0.0f32, 1.0, -1.0]
            .iter()
            .map(|&v| vae.request_decode(&one, &[v; 8]).unwrap())
            .collect();
        let images: Vec<Vec<f32>> = reads
            .into_iter()
            .map(|read| pollster::block_on(read.wait()).unwrap())
            .collect();
        assert_eq!(
            images[2],
            pollster::block_on(vae.decode(&[-1.0; 8])).unwrap()
        );
        assert_ne!(images[0], images[1]);

        // The session reads the live parameters: after training it decodes differently.
        vae.train_steps(10).unwrap();
        let after = pollster::block_on(vae.request_decode(&one, &z).unwrap().wait()).unwrap();
        assert_ne!(before, after);
        assert_eq!(after, pollster::block_on(vae.decode(&z)).unwrap());

        // Wrong row counts and bad values are errors.
        assert!(matches!(
            vae.request_decode(&session, &z),
            Err(GpuError::InvalidInput(_))
        ));
        assert!(matches!(
            vae.request_decode(&one, &[f32::INFINITY; 8]),
            Err(GpuError::InvalidInput(_))
        ));
        assert!(matches!(
            pollster::block_on(vae.inference(0)),
            Err(GpuError::InvalidInput(_))
        ));
    });
}

#[test]
fn an_evaluation_in_pieces_equals_one_in_a_single_submit_and_can_repeat() {
    with_shard(|shard| {
        let mut vae = pollster::block_on(Vae::new(context(), small())).unwrap();
        pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
        vae.train_steps(20).unwrap();
        let test = shard.test();
        let whole = pollster::block_on(vae.evaluate(&test)).unwrap();
        let mut evaluator = pollster::block_on(vae.evaluator(&test)).unwrap();
        // 10,000 images in batches of 32: 312 full batches and a tail of 16.
        assert_eq!(evaluator.batches(), 313);
        // Nothing has run yet: there is no result to read.
        assert!(matches!(
            vae.request_evaluation(&mut evaluator),
            Err(GpuError::InvalidInput(_))
        ));
        for _ in 0..2 {
            let mut remaining = evaluator.batches();
            while remaining > 0 {
                remaining = vae.run_evaluation(&mut evaluator, 50).unwrap();
            }
            let pieces = vae.request_evaluation(&mut evaluator).unwrap();
            assert_eq!(pollster::block_on(pieces.wait()).unwrap(), whole);
        }
        // Half an evaluation cannot be read.
        vae.run_evaluation(&mut evaluator, 7).unwrap();
        assert!(matches!(
            vae.request_evaluation(&mut evaluator),
            Err(GpuError::InvalidInput(_))
        ));
    });
}

#[test]
fn a_snapshot_becomes_the_rollback_point_only_once_a_clean_step_has_used_it() {
    with_shard(|shard| {
        let mut vae = pollster::block_on(Vae::new(context(), small())).unwrap();
        pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
        let initial = pollster::block_on(vae.read_parameters()).unwrap();
        vae.train_steps(10).unwrap();
        pollster::block_on(vae.metrics()).unwrap();
        let at_ten = pollster::block_on(vae.read_parameters()).unwrap();
        vae.train_steps(10).unwrap();
        pollster::block_on(vae.metrics()).unwrap();
        // Steps 11-20 ran fine from the step-10 parameters: those are good now; 20's wait.
        vae.rollback();
        assert_eq!(vae.step(), 10);
        assert_eq!(pollster::block_on(vae.read_parameters()).unwrap(), at_ten);

        // After one read, step 11 has not yet run on the step-10 parameters: the rollback point
        // is still the initial state.
        let mut fresh = pollster::block_on(Vae::new(context(), small())).unwrap();
        pollster::block_on(fresh.set_training_data(&shard.train())).unwrap();
        fresh.train_steps(10).unwrap();
        pollster::block_on(fresh.metrics()).unwrap();
        fresh.rollback();
        assert_eq!(fresh.step(), 0);
        assert_eq!(
            pollster::block_on(fresh.read_parameters()).unwrap(),
            initial
        );
    });
}

#[test]
fn reads_without_a_snapshot_confirm_the_last_one_and_never_become_rollback_points() {
    with_shard(|shard| {
        let mut vae = pollster::block_on(Vae::new(context(), small())).unwrap();
        pollster::block_on(vae.set_training_data(&shard.train())).unwrap();
        let lightly = |vae: &mut Vae| {
            let read = vae.begin_metrics_with(Snapshot::Skip).unwrap();
            vae.finish_metrics(pollster::block_on(read.wait())).unwrap()
        };
        vae.train_steps(10).unwrap();
        pollster::block_on(vae.metrics()).unwrap();
        let at_ten = pollster::block_on(vae.read_parameters()).unwrap();
        // Reads without snapshots at 15 and 20: they confirm step 10's and report their steps.
        vae.train_steps(5).unwrap();
        let report = lightly(&mut vae);
        assert_eq!(report.steps.len(), 5);
        assert_eq!(report.steps[0].step, 11);
        vae.train_steps(5).unwrap();
        lightly(&mut vae);
        vae.rollback();
        assert_eq!(
            vae.step(),
            10,
            "back to the last snapshot, not to a light read"
        );
        assert_eq!(pollster::block_on(vae.read_parameters()).unwrap(), at_ten);
    });
}
