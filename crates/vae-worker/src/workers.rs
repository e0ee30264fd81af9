//! The page's side of one model on the CPU: one worker, or two that share the training (each
//! takes half of every batch and they exchange gradients directly, [`crate::queue`]). The two
//! hold the same model, so what changes it (opening, data, training, metrics reads with their
//! rollback points, rollback) goes to both in the same order, and everything else (decodes,
//! evaluation, saving) to the first alone. To the page it is one worker either way.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use wasm_bindgen::JsCast;

use crate::client::{Simd, WorkerClient};
use crate::protocol::{Reply, Request};

type Asked = Pin<Box<dyn Future<Output = Result<Reply, String>>>>;

pub struct CpuWorkers {
    /// The first answers for the model; the others only train.
    workers: Vec<WorkerClient>,
}

/// Whether `request` changes the model, so every worker must see it.
fn changes_the_model(request: &Request) -> bool {
    matches!(
        request,
        Request::Open(_)
            | Request::SetData { .. }
            | Request::Train { .. }
            | Request::Metrics { .. }
            | Request::Rollback
            // Shared, a calibration times the shared steps.
            | Request::Calibrate { .. }
    )
}

/// The first worker's reply once every worker has answered, or the first failure.
async fn all_of(mut asked: Vec<Asked>) -> Result<Reply, String> {
    let mut replies: Vec<Option<Reply>> = asked.iter().map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        for (future, reply) in asked.iter_mut().zip(replies.iter_mut()) {
            if reply.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(Ok(r)) => *reply = Some(r),
                    Poll::Ready(Err(why)) => return Poll::Ready(Err(why)),
                    Poll::Pending => {}
                }
            }
        }
        if replies.iter().all(Option::is_some) {
            Poll::Ready(Ok(replies[0].take().expect("answered")))
        } else {
            Poll::Pending
        }
    })
    .await
}

impl CpuWorkers {
    /// Starts `count` (1 or 2) workers and, for two, connects them and gives each its share.
    pub async fn spawn(base: &str, simd: Simd, count: usize) -> Result<Self, String> {
        let mut workers = Vec::with_capacity(count);
        for _ in 0..count.clamp(1, 2) {
            workers.push(WorkerClient::spawn(base, simd).await?);
        }
        let workers = Self { workers };
        if workers.workers.len() == 2 {
            let channel = web_sys::MessageChannel::new()
                .map_err(|e| format!("the CPU workers could not be connected: {e:?}"))?;
            let asked: Vec<Asked> = [channel.port1(), channel.port2()]
                .into_iter()
                .zip(&workers.workers)
                .enumerate()
                .map(|(index, (port, worker))| {
                    let request = Request::Share {
                        index: index as u32,
                        count: 2,
                    };
                    let transfer = js_sys::Array::of1(port.unchecked_ref());
                    Box::pin(worker.request_transferring(request, Some(&transfer))) as Asked
                })
                .collect();
            all_of(asked).await?;
        }
        Ok(workers)
    }

    /// How many workers train.
    pub fn count(&self) -> usize {
        self.workers.len()
    }

    /// Which SIMD the engine uses.
    pub fn simd(&self) -> &str {
        &self.workers[0].simd
    }

    /// Asks the worker(s) `body` is for; resolves with the first worker's reply. If a worker
    /// stops, the others are stopped too (the survivor would wait for its shares forever).
    pub fn request(&self, body: Request) -> impl Future<Output = Result<Reply, String>> + 'static {
        let asked: Vec<Asked> = if changes_the_model(&body) && self.workers.len() > 1 {
            self.workers
                .iter()
                .map(|w| Box::pin(w.request(body.clone())) as Asked)
                .collect()
        } else {
            vec![Box::pin(self.workers[0].request(body))]
        };
        let failed = all_of(asked);
        let stoppers: Vec<_> = self.workers.iter().map(WorkerClient::stopper).collect();
        async move {
            let reply = failed.await;
            if reply.is_err() {
                if let Some(why) = stoppers.iter().find_map(|s| s.stopped()) {
                    for stopper in &stoppers {
                        stopper.stop(why.clone());
                    }
                }
            }
            reply
        }
    }
}
