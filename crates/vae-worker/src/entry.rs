//! The worker's entry point: takes each message in turn, answers it with the [`Host`], and
//! says it is ready once its listener is in place (messages posted before that are lost, so
//! the page waits for it).

use std::cell::RefCell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::host::Host;
use crate::protocol::{Envelope, Reply, Request};
use crate::wire;

fn post(scope: &DedicatedWorkerGlobalScope, id: u64, body: Reply) {
    let value = wire::to_js(&Envelope { id, body })
        .or_else(|error| wire::encoding_failed(id, error).ok_or(()));
    if let Ok(value) = value {
        let _ = scope.post_message(&value);
    }
}

pub fn run() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let host = RefCell::new(Host::default());
    let performance = scope.performance();
    let now = move || performance.as_ref().map_or(0.0, |p| p.now());
    let replies = scope.clone();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        match wire::from_js::<Request>(event.data()) {
            Ok(Envelope { id, body }) => {
                let reply = host.borrow_mut().handle(body, &now);
                post(&replies, id, reply);
            }
            Err(error) => post(
                &replies,
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
