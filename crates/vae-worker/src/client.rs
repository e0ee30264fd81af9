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

/// The worker's URL: a small script that loads trunk's no-modules output from `base` (the
/// page's base URL) and starts it.
fn bootstrap_url(base: &str) -> Result<String, String> {
    let script = format!(
        "importScripts({script:?});wasm_bindgen({module:?});",
        script = format!("{base}{}", crate::WORKER_SCRIPT),
        module = format!("{base}{}", crate::WORKER_MODULE),
    );
    let parts = js_sys::Array::of1(&JsValue::from_str(&script));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|e| format!("{e:?}"))?;
    web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))
}

impl WorkerClient {
    /// Starts the worker from the scripts under `base` (ending in `/`) and waits until it takes
    /// requests.
    pub async fn spawn(base: &str) -> Result<Self, String> {
        let url = bootstrap_url(base)?;
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
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let (sender, receiver) = oneshot::channel();
        let posted = match self.shared.stopped.borrow().clone() {
            Some(why) => Err(why),
            None => wire::to_js(&Envelope { id, body }).and_then(|value| {
                self.worker
                    .post_message(&value)
                    .map_err(|e| format!("the CPU worker could not be asked: {e:?}"))
            }),
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
}
