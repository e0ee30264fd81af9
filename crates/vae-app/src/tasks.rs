//! Giving the page's main thread back to the browser between pieces of long work.

use wasm_bindgen_futures::JsFuture;

/// Lets the browser run its other tasks (input, paint) before going on: a timer of 0 ms, so
/// what follows is a task of its own.
pub(crate) async fn next_task() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        }
    });
    let _ = JsFuture::from(promise).await;
}
