//! Two worker queues sharing the training (halves of each batch, gradients exchanged as the
//! browser would deliver them) train as one engine does, stay identical, and fail together.

use mnist_shard::decompress;
use vae_cpu_worker::host::Host;
use vae_cpu_worker::queue::{Outbox, PeerMessage, Queue};
use vae_model::VaeConfig;
use vae_worker::protocol::{Reply, Request, Source};

const SHARD: &[u8] = include_bytes!("../../../web/mnist.shard.gz");

fn now() -> f64 {
    0.0
}

/// What a queue sent: its replies, and its messages to the other queue with their gradients.
#[derive(Default)]
struct Sent {
    replies: Vec<(u64, Reply)>,
    to_peer: Vec<(PeerMessage, Vec<f32>)>,
}

impl Outbox for Sent {
    fn reply(&mut self, id: u64, reply: Reply) {
        self.replies.push((id, reply));
    }
    fn to_peer(&mut self, message: PeerMessage, gradient: &[f32]) {
        self.to_peer.push((message, gradient.to_vec()));
    }
}

struct Pair {
    queues: [Queue; 2],
    sent: [Sent; 2],
    next_id: u64,
}

impl Pair {
    fn new() -> Self {
        let mut pair = Pair {
            queues: [Queue::default(), Queue::default()],
            sent: [Sent::default(), Sent::default()],
            next_id: 1,
        };
        for index in 0..2 {
            pair.ask(
                index,
                Request::Share {
                    index: index as u32,
                    count: 2,
                },
            );
            assert!(matches!(
                pair.sent[index].replies.pop(),
                Some((_, Reply::Done))
            ));
        }
        pair
    }

    fn ask(&mut self, index: usize, request: Request) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.queues[index].request(id, request, &now, &mut self.sent[index]);
        id
    }

    /// Hands each queue the other's messages until none are left.
    fn deliver(&mut self) {
        loop {
            let mut moved = false;
            for from in 0..2 {
                let to = 1 - from;
                let messages: Vec<_> = self.sent[from].to_peer.drain(..).collect();
                for (message, gradient) in messages {
                    moved = true;
                    let (queues, sent) = (&mut self.queues, &mut self.sent);
                    queues[to].peer(
                        message,
                        |values| values.extend_from_slice(&gradient),
                        &now,
                        &mut sent[to],
                    );
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn reply(&mut self, index: usize, id: u64) -> Reply {
        let at = self.sent[index]
            .replies
            .iter()
            .position(|(i, _)| *i == id)
            .unwrap_or_else(|| panic!("worker {index} has not answered request {id}"));
        self.sent[index].replies.remove(at).1
    }

    /// The same request to both; both replies.
    fn both(&mut self, request: Request) -> [Reply; 2] {
        let ids = [self.ask(0, request.clone()), self.ask(1, request)];
        self.deliver();
        [self.reply(0, ids[0]), self.reply(1, ids[1])]
    }
}

fn settings() -> VaeConfig {
    VaeConfig {
        batch: 32,
        seed: 21,
        ..VaeConfig::default()
    }
}

fn shard() -> Vec<u8> {
    decompress(SHARD, "mnist.shard.gz").unwrap().into_owned()
}

/// Two checkpoints hold the same model, moments, step and position, bit for bit (their
/// metadata's order may differ).
fn assert_same_models(first: &[u8], second: &[u8]) {
    let [a, b] = [first, second].map(|bytes| vae_cpu::CpuVae::load(bytes).unwrap());
    let layout = vae_reference::Layout::new(a.config().sizes);
    assert_eq!((a.step(), a.position()), (b.step(), b.position()));
    assert!(
        a.parameters_in(&layout) == b.parameters_in(&layout)
            && a.moments_in(&layout) == b.moments_in(&layout),
        "the two workers' models differ"
    );
}

fn curve(reply: &Reply) -> Vec<f32> {
    match reply {
        Reply::Metrics { report, .. } => report.steps.iter().map(|m| m.neg_elbo).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn two_queues_share_the_training_and_match_one_engine() {
    let raw = shard();
    let mut alone = Host::default();
    alone.handle(Request::Open(Source::Fresh(settings())), &now);
    alone.handle(
        Request::SetData {
            shard: raw.clone().into(),
        },
        &now,
    );

    let mut pair = Pair::new();
    pair.both(Request::Open(Source::Fresh(settings())));
    pair.both(Request::SetData { shard: raw.into() });
    for steps in [3, 1, 5] {
        alone.handle(Request::Train { steps }, &now);
        let expected = curve(&alone.handle(Request::Metrics { snapshot: true }, &now));
        // The first worker is asked more (a decode, as a slider would) and before the second
        // hears of the training; the second's share waits for it.
        let train = pair.ask(0, Request::Train { steps });
        let decode = pair.ask(
            0,
            Request::Decode {
                z: vae_worker::protocol::Floats::from_slice(&[0.0; 20]),
            },
        );
        let metrics = pair.ask(0, Request::Metrics { snapshot: true });
        assert!(pair.sent[0].replies.is_empty(), "waits for the other share");
        let other_train = pair.ask(1, Request::Train { steps });
        let other_metrics = pair.ask(1, Request::Metrics { snapshot: true });
        pair.deliver();
        for (index, id) in [(0, train), (1, other_train)] {
            match pair.reply(index, id) {
                Reply::Trained { step, .. } => {
                    assert_eq!(step, alone.share_step(), "worker {index}")
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(pair.reply(0, decode), Reply::Images(_)));
        let (got, other) = (
            curve(&pair.reply(0, metrics)),
            curve(&pair.reply(1, other_metrics)),
        );
        assert_eq!(got, other, "both workers see the same steps");
        assert_eq!(got.len(), expected.len());
        for (a, b) in got.iter().zip(&expected) {
            assert!((a - b).abs() <= 1e-4 * b.abs(), "{a} against {b}");
        }
    }
    let [Reply::Saved(first), Reply::Saved(second)] = pair.both(Request::Save) else {
        panic!("no checkpoints");
    };
    assert_same_models(&first, &second);
    assert!(pair.queues[0].host().shared().is_some());
}

#[test]
fn a_step_one_worker_cannot_take_fails_on_both_and_training_goes_on_after() {
    let raw = shard();
    let mut pair = Pair::new();
    pair.both(Request::Open(Source::Fresh(settings())));
    // Only the second worker has data: the first cannot take its share.
    let id = pair.ask(
        1,
        Request::SetData {
            shard: raw.clone().into(),
        },
    );
    pair.deliver();
    assert!(matches!(pair.reply(1, id), Reply::DataSet { .. }));
    let replies = pair.both(Request::Train { steps: 2 });
    for reply in &replies {
        assert!(matches!(reply, Reply::Failed(_)), "{reply:?}");
    }
    let Reply::Failed(why) = &replies[1] else {
        unreachable!()
    };
    assert!(
        why.contains("other CPU worker") && why.contains("no training data"),
        "{why}"
    );

    let id = pair.ask(0, Request::SetData { shard: raw.into() });
    pair.deliver();
    assert!(matches!(pair.reply(0, id), Reply::DataSet { .. }));
    // The second worker's share of the failed step is stale now and is dropped.
    let replies = pair.both(Request::Train { steps: 2 });
    for reply in &replies {
        assert!(matches!(reply, Reply::Trained { step: 2, .. }), "{reply:?}");
    }
    let [Reply::Saved(first), Reply::Saved(second)] = pair.both(Request::Save) else {
        panic!("no checkpoints");
    };
    assert_same_models(&first, &second);
}

#[test]
fn a_third_share_is_refused() {
    let mut queue = Queue::default();
    let mut sent = Sent::default();
    queue.request(1, Request::Share { index: 0, count: 3 }, &now, &mut sent);
    queue.request(2, Request::Share { index: 2, count: 2 }, &now, &mut sent);
    for (_, reply) in &sent.replies {
        assert!(matches!(reply, Reply::Failed(_)), "{reply:?}");
    }
}

#[test]
fn a_shared_calibration_times_shared_steps_and_leaves_the_model_alone() {
    let mut pair = Pair::new();
    pair.both(Request::Open(Source::Fresh(settings())));
    pair.both(Request::SetData {
        shard: shard().into(),
    });
    pair.both(Request::Train { steps: 2 });
    for reply in pair.both(Request::Calibrate { steps: 2 }) {
        assert!(
            matches!(reply, Reply::Calibrated { ms_per_step } if ms_per_step >= 0.0),
            "{reply:?}"
        );
    }
    assert_eq!(
        pair.queues[0].host().share_step(),
        2,
        "the open model is back"
    );
    for reply in pair.both(Request::Train { steps: 1 }) {
        assert!(matches!(reply, Reply::Trained { step: 3, .. }), "{reply:?}");
    }
    let [Reply::Saved(first), Reply::Saved(second)] = pair.both(Request::Save) else {
        panic!("no checkpoints");
    };
    assert_same_models(&first, &second);
}
