//! The worker's entry point: hands each message from the page to the [`Queue`], and, when it
//! shares the training with another worker, each message from that worker (through the
//! `MessagePort` that came with [`Request::Share`]). It says it is ready once its listener is
//! in place (messages posted before that are lost, so the page waits for it).
//!
//! Between the workers a share is a JS array `["share", round, step, index, count, bce, kl,
//! gradient]`, the gradient a `Float32Array` whose buffer is transferred, not copied; each
//! worker sends its next share in the buffer it last received, so two buffers go back and
//! forth for the whole run. A failure is `["failed", round, step, why]`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Float32Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, MessagePort};

use crate::queue::{Outbox, PeerMessage, Place, Queue};
use vae_cpu::{Share, StepShare};
use vae_worker::protocol::{Envelope, Reply, Request};
use vae_worker::wire;

/// Posts a reply, its byte arrays (images, posteriors, a checkpoint) transferred to the page.
fn post(scope: &DedicatedWorkerGlobalScope, id: u64, body: Reply) {
    match wire::to_js_transferring(&Envelope { id, body }) {
        Ok((value, buffers)) => {
            let _ = scope.post_message_with_transfer(&value, &buffers);
        }
        Err(error) => {
            if let Some(value) = wire::encoding_failed(id, error) {
                let _ = scope.post_message(&value);
            }
        }
    }
}

/// The worker's ways out: the page, and the other worker once there is one.
struct Web {
    scope: DedicatedWorkerGlobalScope,
    peer: Option<MessagePort>,
    /// The last gradient buffer received, to send the next share in.
    spare: Option<Float32Array>,
}

impl Outbox for Web {
    fn reply(&mut self, id: u64, reply: Reply) {
        post(&self.scope, id, reply);
    }

    fn to_peer(&mut self, message: PeerMessage, gradient: &[f32]) {
        let Some(port) = &self.peer else {
            return;
        };
        let number = |n: u64| JsValue::from_f64(n as f64);
        let (fields, transfer) = match message {
            PeerMessage::Share { place, share } => {
                let buffer = match self.spare.take() {
                    Some(spare) if spare.length() as usize == gradient.len() => spare,
                    _ => Float32Array::new_with_length(gradient.len() as u32),
                };
                buffer.copy_from(gradient);
                let fields = [
                    JsValue::from_str("share"),
                    number(place.round),
                    number(place.step),
                    number(share.share.index.into()),
                    number(share.share.count.into()),
                    JsValue::from_f64(share.bce),
                    JsValue::from_f64(share.kl),
                    buffer.clone().into(),
                ];
                (fields.to_vec(), Array::of1(&buffer.buffer()))
            }
            PeerMessage::Failed { place, why } => (
                vec![
                    JsValue::from_str("failed"),
                    number(place.round),
                    number(place.step),
                    JsValue::from_str(&why),
                ],
                Array::new(),
            ),
        };
        let message: Array = fields.into_iter().collect();
        if let Err(error) = port.post_message_with_transferable(&message, &transfer) {
            web_sys::console::error_2(
                &"the CPU worker could not reach the other one".into(),
                &error,
            );
        }
    }
}

/// Reads a message from the other worker: the message, and the share's gradient.
fn read_peer(data: JsValue) -> Option<(PeerMessage, Option<Float32Array>)> {
    let fields: Array = data.dyn_into().ok()?;
    let number = |i: u32| fields.get(i).as_f64();
    let place = Place {
        round: number(1)? as u64,
        step: number(2)? as u64,
    };
    match fields.get(0).as_string()?.as_str() {
        "share" => {
            let share = StepShare {
                step: place.step,
                share: Share {
                    index: number(3)? as u32,
                    count: number(4)? as u32,
                },
                bce: number(5)?,
                kl: number(6)?,
            };
            let gradient: Float32Array = fields.get(7).dyn_into().ok()?;
            Some((PeerMessage::Share { place, share }, Some(gradient)))
        }
        "failed" => Some((
            PeerMessage::Failed {
                place,
                why: fields.get(3).as_string()?,
            },
            None,
        )),
        _ => None,
    }
}

struct Worker {
    queue: Queue,
    web: Web,
}

pub fn run() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let worker = Rc::new(RefCell::new(Worker {
        queue: Queue::default(),
        web: Web {
            scope: scope.clone(),
            peer: None,
            spare: None,
        },
    }));
    let performance = scope.performance();
    let now: Rc<dyn Fn() -> f64> = Rc::new(move || performance.as_ref().map_or(0.0, |p| p.now()));

    let from_peer = {
        let (worker, now) = (Rc::clone(&worker), Rc::clone(&now));
        Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
            let Some((message, gradient)) = read_peer(event.data()) else {
                web_sys::console::error_1(
                    &"an unreadable message from the other CPU worker".into(),
                );
                return;
            };
            let mut worker = worker.borrow_mut();
            let Worker { queue, web } = &mut *worker;
            let fill = |values: &mut Vec<f32>| {
                if let Some(gradient) = &gradient {
                    values.resize(gradient.length() as usize, 0.0);
                    gradient.copy_to(values);
                }
            };
            queue.peer(message, fill, &*now, web);
            if gradient.is_some() {
                web.spare = gradient;
            }
        })
    };

    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let mut worker = worker.borrow_mut();
        let Worker { queue, web } = &mut *worker;
        match wire::from_js::<Request>(event.data()) {
            Ok(Envelope { id, body }) => {
                if let Request::Share { count, .. } = body {
                    match event.ports().get(0).dyn_into::<MessagePort>() {
                        Ok(port) => {
                            port.set_onmessage(Some(from_peer.as_ref().unchecked_ref()));
                            web.peer = Some(port);
                        }
                        Err(_) if count > 1 => {
                            let why = "a shared training needs the other worker's port".into();
                            return post(&web.scope, id, Reply::Failed(why));
                        }
                        Err(_) => {}
                    }
                }
                queue.request(id, body, &*now, web);
            }
            Err(error) => post(
                &web.scope,
                0,
                Reply::Failed(format!(
                    "a message the CPU worker does not understand: {error}"
                )),
            ),
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The worker lives as long as its listener.
    on_message.forget();
    post(
        &scope,
        0,
        Reply::Ready {
            simd: vae_cpu::simd_in_use().to_string(),
        },
    );
}
