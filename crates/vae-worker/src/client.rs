//! The page's side: starts the worker, posts requests and hands each reply to the future that
//! asked for it. If the worker dies (a trap, a failed load), every waiting and later request
//! fails with what the browser said.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use futures_channel::oneshot;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

use crate::protocol::{Envelope, Reply, Request};
use crate::wire;

type Waiting = RefCell<HashMap<u64, oneshot::Sender<Result<Reply, String>>>>;

struct Shared {
    waiting: Waiting,
    /// Why the worker stopped, once it has.
    stopped: RefCell<Option<String>>,
}

impl Shared {
    fn stop(&self, why: String) {
        self.stopped.borrow_mut().get_or_insert(why.clone());
        for (_, sender) in self.waiting.borrow_mut().drain() {
            let _ = sender.send(Err(why.clone()));
        }
    }
}

/// A running CPU worker.
pub struct WorkerClient {
    worker: Worker,
    shared: Rc<Shared>,
    next_id: Cell<u64>,
    /// Which SIMD the worker's engine uses.
    pub simd: String,
    _on_message: Closure<dyn Fn(MessageEvent)>,
    _on_error: Closure<dyn Fn(ErrorEvent)>,
}

impl Drop for WorkerClient {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// A module of one function using `f32x4.relaxed_madd`: valid only where the browser has
/// relaxed SIMD (the same check wasm-feature-detect makes, with this instruction).
const RELAXED_SIMD_PROBE: [u8; 82] = {
    let mut bytes = [0u8; 82];
    let head = [
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
        0x03, 0x02, 0x01, 0x00, // one function of that type
        0x0a, 0x3d, 0x01, 0x3b, 0x00, // code: one body of 59 bytes, no locals
    ];
    let mut i = 0;
    while i < head.len() {
        bytes[i] = head[i];
        i += 1;
    }
    // Three `v128.const 0` (0xfd 0x0c and 16 zero bytes each), then f32x4.relaxed_madd, end.
    let mut at = head.len();
    let mut c = 0;
    while c < 3 {
        bytes[at] = 0xfd;
        bytes[at + 1] = 0x0c;
        at += 18;
        c += 1;
    }
    bytes[at] = 0xfd;
    bytes[at + 1] = 0x85;
    bytes[at + 2] = 0x02;
    bytes[at + 3] = 0x0b;
    bytes
};

/// Whether this browser runs relaxed SIMD.
pub fn relaxed_simd_supported() -> bool {
    let probe = js_sys::Uint8Array::from(&RELAXED_SIMD_PROBE[..]);
    js_sys::WebAssembly::validate(&probe).unwrap_or(false)
}

/// Which of the two worker modules to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simd {
    /// Relaxed SIMD where the browser validates it, SIMD128 otherwise.
    Best,
    /// SIMD128 only (to compare the two).
    Simd128,
}

/// The worker's URL: a small script that loads trunk's no-modules output from `base` (the
/// page's base URL) and starts it.
fn bootstrap_url(base: &str, name: &str) -> Result<String, String> {
    let script = format!(
        "importScripts({script:?});wasm_bindgen({module:?});",
        script = format!("{base}{name}.js"),
        module = format!("{base}{name}_bg.wasm"),
    );
    let parts = js_sys::Array::of1(&JsValue::from_str(&script));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|e| format!("{e:?}"))?;
    web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))
}

impl WorkerClient {
    /// Starts a worker from the scripts under `base` (ending in `/`), the relaxed-SIMD build
    /// where the browser has it and `simd` allows (falling back to SIMD128 if it does not
    /// start), and waits until it takes requests.
    pub async fn spawn(base: &str, simd: Simd) -> Result<Self, String> {
        if simd == Simd::Best && relaxed_simd_supported() {
            if let Ok(client) = Self::spawn_named(base, crate::RELAXED_WORKER).await {
                return Ok(client);
            }
        }
        Self::spawn_named(base, crate::WORKER).await
    }

    async fn spawn_named(base: &str, name: &str) -> Result<Self, String> {
        let url = bootstrap_url(base, name)?;
        let worker =
            Worker::new(&url).map_err(|e| format!("the CPU worker could not start: {e:?}"))?;
        let _ = web_sys::Url::revoke_object_url(&url);
        let shared = Rc::new(Shared {
            waiting: RefCell::new(HashMap::new()),
            stopped: RefCell::new(None),
        });
        let (ready_tx, ready_rx) = oneshot::channel::<Result<Reply, String>>();
        shared.waiting.borrow_mut().insert(0, ready_tx);
        let replies = Rc::clone(&shared);
        let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
            match wire::from_js::<Reply>(event.data()) {
                Ok(Envelope { id, body }) => {
                    if let Some(sender) = replies.waiting.borrow_mut().remove(&id) {
                        let _ = sender.send(Ok(body));
                    }
                }
                Err(error) => replies.stop(format!(
                    "the CPU worker sent a message this page cannot read: {error}"
                )),
            }
        });
        let errors = Rc::clone(&shared);
        let on_error = Closure::<dyn Fn(ErrorEvent)>::new(move |event: ErrorEvent| {
            let what = event.message();
            errors.stop(if what.is_empty() {
                "the CPU worker stopped (its script or module could not load)".to_string()
            } else {
                format!("the CPU worker stopped: {what}")
            });
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let mut client = Self {
            worker,
            shared,
            next_id: Cell::new(1),
            simd: String::new(),
            _on_message: on_message,
            _on_error: on_error,
        };
        match ready_rx.await {
            Ok(Ok(Reply::Ready { simd })) => client.simd = simd,
            Ok(Ok(other)) => return Err(format!("the CPU worker started oddly: {other:?}")),
            Ok(Err(why)) => return Err(why),
            Err(_) => return Err("the CPU worker never said it was ready".into()),
        }
        Ok(client)
    }

    /// Posts `body`; the future resolves with the worker's reply (a `Reply::Failed` is turned
    /// into an error).
    pub fn request(&self, body: Request) -> impl Future<Output = Result<Reply, String>> + 'static {
        self.request_transferring(body, None)
    }

    /// [`WorkerClient::request`], transferring `transfer`'s objects (a `MessagePort`) with it, as
    /// well as the request's byte arrays.
    pub fn request_transferring(
        &self,
        body: Request,
        transfer: Option<&js_sys::Array>,
    ) -> impl Future<Output = Result<Reply, String>> + 'static {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let (sender, receiver) = oneshot::channel();
        let posted = match self.shared.stopped.borrow().clone() {
            Some(why) => Err(why),
            None => {
                wire::to_js_transferring(&Envelope { id, body }).and_then(|(value, buffers)| {
                    if let Some(transfer) = transfer {
                        for object in transfer.iter() {
                            buffers.push(&object);
                        }
                    }
                    self.worker
                        .post_message_with_transfer(&value, &buffers)
                        .map_err(|e| format!("the CPU worker could not be asked: {e:?}"))
                })
            }
        };
        match posted {
            Ok(()) => {
                self.shared.waiting.borrow_mut().insert(id, sender);
            }
            Err(why) => {
                let _ = sender.send(Err(why));
            }
        }
        async move {
            match receiver.await {
                Ok(Ok(Reply::Failed(why))) => Err(why),
                Ok(reply) => reply,
                Err(_) => Err("the CPU worker was closed".into()),
            }
        }
    }

    /// Why the worker stopped, if it has.
    pub fn stopped(&self) -> Option<String> {
        self.shared.stopped.borrow().clone()
    }

    /// A handle that can end the worker from elsewhere (a request's future).
    pub fn stopper(&self) -> Stopper {
        Stopper {
            worker: self.worker.clone(),
            shared: Rc::clone(&self.shared),
        }
    }
}

/// Ends a worker, or says why it ended.
pub struct Stopper {
    worker: Worker,
    shared: Rc<Shared>,
}

impl Stopper {
    pub fn stopped(&self) -> Option<String> {
        self.shared.stopped.borrow().clone()
    }

    /// Ends the worker: every waiting and later request fails with `why`.
    pub fn stop(&self, why: String) {
        self.worker.terminate();
        self.shared.stop(why);
    }
}
