//! Keeping read-back completions prompt in browsers while reads are out (a [`ReadWatch`] per
//! device, a [`ReadGuard`] per read), and the shared-state cell the reads' pools use too.

/// Shared and mutable in one place: `Rc<RefCell>` on the web, where wgpu's handles are neither
/// `Send` nor `Sync`, `Arc<Mutex>` natively.
#[cfg(target_arch = "wasm32")]
pub(crate) type Shared<T> = std::rc::Rc<std::cell::RefCell<T>>;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type Shared<T> = std::sync::Arc<std::sync::Mutex<T>>;

pub(crate) fn with_shared<T, R>(shared: &Shared<T>, run: impl FnOnce(&mut T) -> R) -> R {
    #[cfg(target_arch = "wasm32")]
    {
        run(&mut shared.borrow_mut())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        // A poisoned lock only means a panic elsewhere mid-push; the list itself is intact.
        let mut guard = shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        run(&mut guard)
    }
}

/// Keeps completion callbacks prompt while reads are out.
///
/// Firefox services its WebGPU channel on a timer when the page sends nothing: a read back
/// awaited alone resolves 60-90 ms after the GPU finished (`node bench/probe/run.mjs latency
/// --browser firefox`), but within a few ms when anything else reaches the GPU process
/// meanwhile. So while at least one read is out, an empty submit is sent every 4 ms; with none
/// out, nothing runs. Chromium delivers promptly either way, and
/// an empty submit costs it one small message. Natively reads poll the device instead, and
/// this is a no-op.
#[derive(Clone)]
pub(crate) struct ReadWatch {
    #[cfg(target_arch = "wasm32")]
    state: Shared<nudge::State>,
}

/// Held by each read in flight; dropping the last stops the nudging.
pub(crate) struct ReadGuard {
    #[cfg(target_arch = "wasm32")]
    state: Shared<nudge::State>,
}

/// How often an empty submit goes out while reads are waiting (browsers clamp repeating timers
/// to about 4 ms anyway).
#[cfg(target_arch = "wasm32")]
const NUDGE_EVERY_MS: i32 = 4;

impl ReadWatch {
    pub(crate) fn new(queue: &wgpu::Queue) -> Self {
        #[cfg(target_arch = "wasm32")]
        {
            Self {
                state: std::rc::Rc::new(std::cell::RefCell::new(nudge::State::new(queue.clone()))),
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = queue;
            Self {}
        }
    }

    pub(crate) fn waiting(&self) -> ReadGuard {
        #[cfg(target_arch = "wasm32")]
        {
            nudge::State::start(&self.state);
            ReadGuard {
                state: self.state.clone(),
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        ReadGuard {}
    }
}

impl Drop for ReadGuard {
    fn drop(&mut self) {
        #[cfg(target_arch = "wasm32")]
        nudge::State::stop(&self.state);
    }
}

#[cfg(target_arch = "wasm32")]
mod nudge {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    use super::{Shared, NUDGE_EVERY_MS};

    pub(super) struct State {
        queue: wgpu::Queue,
        waiting: usize,
        timer: Option<i32>,
        tick: Option<Closure<dyn FnMut()>>,
    }

    impl State {
        pub(super) fn new(queue: wgpu::Queue) -> Self {
            Self {
                queue,
                waiting: 0,
                timer: None,
                tick: None,
            }
        }

        pub(super) fn start(shared: &Shared<Self>) {
            let mut state = shared.borrow_mut();
            state.waiting += 1;
            if state.timer.is_some() {
                return;
            }
            let Some(window) = web_sys::window() else {
                return;
            };
            let queue = state.queue.clone();
            let tick = state.tick.get_or_insert_with(|| {
                Closure::<dyn FnMut()>::new(move || {
                    queue.submit([]);
                })
            });
            state.timer = window
                .set_interval_with_callback_and_timeout_and_arguments_0(
                    tick.as_ref().unchecked_ref(),
                    NUDGE_EVERY_MS,
                )
                .ok();
        }

        pub(super) fn stop(shared: &Shared<Self>) {
            let mut state = shared.borrow_mut();
            state.waiting = state.waiting.saturating_sub(1);
            if state.waiting > 0 {
                return;
            }
            if let (Some(timer), Some(window)) = (state.timer.take(), web_sys::window()) {
                window.clear_interval_with_handle(timer);
            }
        }
    }
}
