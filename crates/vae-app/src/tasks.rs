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

/// Resolves once the browser has painted the next frame (a frame callback, then a task after
/// it), or after 100 ms in a hidden tab, which paints no frames.
pub(crate) async fn after_next_paint() {
    use wasm_bindgen::JsCast;
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let Some(window) = web_sys::window() else {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
            return;
        };
        let then = resolve.clone();
        let timer = window.clone();
        let after_frame = wasm_bindgen::closure::Closure::once_into_js(move || {
            let _ = timer.set_timeout_with_callback_and_timeout_and_arguments_0(&then, 0);
        });
        let _ = window.request_animation_frame(after_frame.unchecked_ref());
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 100);
    });
    let _ = JsFuture::from(promise).await;
}
