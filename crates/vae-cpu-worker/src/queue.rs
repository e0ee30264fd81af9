//! The worker's queue: the page's requests are answered in the order they came. On its own a
//! worker answers each at once. When two workers share the training ([`Request::Share`]), a
//! training request runs a step at a time: this worker computes its share of the step's
//! gradient, sends it to the other worker, and takes the step when the other's share arrives
//! (the browser delivers it between messages, so the queue waits rather than blocks). Requests
//! that come meanwhile wait their turn.
//!
//! Both workers get the same training requests in the same order, so they count them alike:
//! each is a *round*, and every message between the workers names its round and step. A share
//! from an earlier round (one the other worker gave up) is dropped; if either worker fails a
//! step it tells the other, both give the step up, and both answer that request with the error.
//!
//! Plain Rust behind the [`Outbox`], so two queues are tested natively against one engine.

use std::collections::VecDeque;

use vae_cpu::StepShare;

use crate::host::Host;
use vae_worker::protocol::{Reply, Request};

/// Where a step of the exchange stands: the round (training request) and the step in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Place {
    pub round: u64,
    pub step: u64,
}

/// What one worker tells the other.
#[derive(Clone, Debug, PartialEq)]
pub enum PeerMessage {
    /// This worker's share of the step at `place`; its gradient travels beside it.
    Share { place: Place, share: StepShare },
    /// This worker could not do the step at `place`.
    Failed { place: Place, why: String },
}

impl PeerMessage {
    fn place(&self) -> Place {
        match self {
            PeerMessage::Share { place, .. } | PeerMessage::Failed { place, .. } => *place,
        }
    }
}

/// The queue's way out: replies to the page, messages to the other worker.
pub trait Outbox {
    fn reply(&mut self, id: u64, reply: Reply);
    /// `gradient` is this worker's share's (empty for a failure).
    fn to_peer(&mut self, message: PeerMessage, gradient: &[f32]);
}

/// Tells the other worker this one could not take the step at `place`; returns why.
fn tell_failed(out: &mut dyn Outbox, place: Place, error: vae_cpu::CpuError) -> String {
    let why = error.to_string();
    let message = PeerMessage::Failed {
        place,
        why: why.clone(),
    };
    out.to_peer(message, &[]);
    why
}

/// A training request under way on a shared model.
struct Training {
    id: u64,
    round: u64,
    left: u32,
    started: f64,
    /// This worker's share of the current step, once computed.
    own: Option<StepShare>,
    /// A calibration ([`Request::Calibrate`]): its steps, the first untimed.
    calibration: Option<u32>,
}

#[derive(Default)]
pub struct Queue {
    host: Host,
    waiting: VecDeque<(u64, Request)>,
    training: Option<Training>,
    /// Training requests begun so far.
    rounds: u64,
    /// The other worker's messages not yet used, oldest first, each with its gradient.
    inbox: VecDeque<(PeerMessage, Vec<f32>)>,
    /// Gradient vectors to reuse, so a step allocates nothing.
    spare: Vec<Vec<f32>>,
}

impl Queue {
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// A request from the page.
    pub fn request(
        &mut self,
        id: u64,
        request: Request,
        now_ms: &dyn Fn() -> f64,
        out: &mut dyn Outbox,
    ) {
        self.waiting.push_back((id, request));
        self.pump(now_ms, out);
    }

    /// A message from the other worker; `gradient` fills a vector with its gradient (a share's).
    pub fn peer(
        &mut self,
        message: PeerMessage,
        gradient: impl FnOnce(&mut Vec<f32>),
        now_ms: &dyn Fn() -> f64,
        out: &mut dyn Outbox,
    ) {
        let mut values = self.spare.pop().unwrap_or_default();
        values.clear();
        if matches!(message, PeerMessage::Share { .. }) {
            gradient(&mut values);
        }
        self.inbox.push_back((message, values));
        self.pump(now_ms, out);
    }

    /// Answers what can be answered now.
    fn pump(&mut self, now_ms: &dyn Fn() -> f64, out: &mut dyn Outbox) {
        loop {
            if self.training.is_some() {
                if !self.advance_training(now_ms, out) {
                    return;
                }
                continue;
            }
            let Some((id, request)) = self.waiting.pop_front() else {
                return;
            };
            match request {
                Request::Train { steps } if self.host.shared().is_some() => {
                    self.rounds += 1;
                    self.training = Some(Training {
                        id,
                        round: self.rounds,
                        left: steps,
                        started: now_ms(),
                        own: None,
                        calibration: None,
                    });
                }
                // Shared steps timed on a fresh model, the open one set aside meanwhile.
                Request::Calibrate { steps } if self.host.shared().is_some() => {
                    self.rounds += 1;
                    let steps = steps.max(1);
                    if let Err(error) = self.host.begin_calibration() {
                        out.reply(id, Reply::Failed(error.to_string()));
                        continue;
                    }
                    self.training = Some(Training {
                        id,
                        round: self.rounds,
                        left: steps + 1,
                        started: now_ms(),
                        own: None,
                        calibration: Some(steps),
                    });
                }
                request => {
                    let reply = self.host.handle(request, now_ms);
                    out.reply(id, reply);
                }
            }
        }
    }

    /// Moves the training under way on as far as it can; false while it waits for the other
    /// worker.
    fn advance_training(&mut self, now_ms: &dyn Fn() -> f64, out: &mut dyn Outbox) -> bool {
        let Some(training) = self.training.as_mut() else {
            return true;
        };
        if training.left == 0 {
            let training = self.training.take().expect("under way");
            let ms = now_ms() - training.started;
            let reply = match training.calibration {
                Some(steps) => {
                    self.host.end_calibration();
                    Reply::Calibrated {
                        ms_per_step: ms / f64::from(steps),
                    }
                }
                None => Reply::Trained {
                    step: self.host.share_step(),
                    ms,
                },
            };
            out.reply(training.id, reply);
            return true;
        }
        let place = Place {
            round: training.round,
            step: self.host.share_step() + 1,
        };
        let own = match training.own {
            Some(own) => own,
            None => match self.host.begin_shared_step() {
                Ok(own) => {
                    training.own = Some(own);
                    let message = PeerMessage::Share { place, share: own };
                    out.to_peer(message, self.host.share_gradients());
                    own
                }
                Err(error) => {
                    let why = tell_failed(out, place, error);
                    self.fail_training(why, out);
                    return true;
                }
            },
        };
        // The other's messages from rounds or steps already over are stale.
        while self.inbox.front().is_some_and(|(m, _)| m.place() < place) {
            let (_, values) = self.inbox.pop_front().expect("front");
            self.spare.push(values);
        }
        let Some((message, values)) = self.inbox.pop_front() else {
            return false;
        };
        if message.place() > place {
            // The other worker is past this step without a word: fail this one, and keep its
            // message for the step it belongs to.
            let why = format!(
                "the CPU workers lost step: this one is at {place:?}, the other sent {message:?}"
            );
            self.inbox.push_front((message, values));
            self.host.abandon_shared_step();
            self.fail_training(why, out);
            return true;
        }
        let outcome = match &message {
            PeerMessage::Share { share, .. } => {
                match self.host.finish_shared_step(own, *share, &values) {
                    Ok(_) => Ok(()),
                    Err(error) => Err(tell_failed(out, place, error)),
                }
            }
            PeerMessage::Failed { why, .. } => {
                Err(format!("the other CPU worker could not train: {why}"))
            }
        };
        self.spare.push(values);
        match outcome {
            Ok(()) => {
                let training = self.training.as_mut().expect("under way");
                training.own = None;
                training.left -= 1;
                if training.calibration == Some(training.left) {
                    // The untimed first step is done: the clock starts now.
                    training.started = now_ms();
                }
            }
            Err(why) => {
                self.host.abandon_shared_step();
                self.fail_training(why, out);
            }
        }
        true
    }

    fn fail_training(&mut self, why: String, out: &mut dyn Outbox) {
        if let Some(training) = self.training.take() {
            if training.calibration.is_some() {
                self.host.end_calibration();
            }
            out.reply(training.id, Reply::Failed(why));
        }
    }
}
