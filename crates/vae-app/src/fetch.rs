//! Downloading the bundled data with progress, without blocking the page.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

pub(crate) fn describe(error: JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

/// Fetches `url`, calling `on_progress(received, total)` after every chunk (`total` from
/// Content-Length when the server sends it), and returns the body.
pub async fn fetch_with_progress(
    url: &str,
    on_progress: impl Fn(u64, Option<u64>),
) -> Result<Vec<u8>, String> {
    let unreachable = |error| format!("{url}: could not be downloaded ({})", describe(error));
    let window = web_sys::window().ok_or("no window to fetch from")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(unreachable)?
        .unchecked_into();
    if !response.ok() {
        return Err(format!(
            "{url}: the server answered {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|length| length.parse::<u64>().ok());
    let body = response
        .body()
        .ok_or_else(|| format!("{url}: the response has no body"))?;
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total.unwrap_or(0).min(64 << 20) as usize);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(unreachable)?;
        let done = Reflect::get(&chunk, &JsValue::from_str("done"))
            .ok()
            .and_then(|done| done.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &JsValue::from_str("value"))
            .map_err(unreachable)?
            .unchecked_into();
        let start = bytes.len();
        bytes.resize(start + value.length() as usize, 0);
        value.copy_to(&mut bytes[start..]);
        on_progress(bytes.len() as u64, total);
    }
    Ok(bytes)
}
