//! Files in and out of the page: a download made from bytes, and a visitor's file read only
//! after its size says it can be a checkpoint.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::fetch::describe;

/// Offers `bytes` as a download named `name`.
pub fn download(bytes: &[u8], name: &str) -> Result<(), String> {
    let parts = Array::of1(&Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(describe)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(describe)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(describe)?
        .unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    // In the document while clicked: some browsers ignore a click on a detached link.
    let body = document.body().ok_or("no document body")?;
    body.append_child(&link).map_err(describe)?;
    link.click();
    link.remove();
    // Some browsers read the blob after the click returns: the URL goes a while later.
    let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    if let Some(window) = web_sys::window() {
        let _ = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 10_000);
    }
    Ok(())
}

/// A visitor's file, read whole once its size is known to be a checkpoint's.
pub async fn read(file: &web_sys::File) -> Result<Vec<u8>, String> {
    vae_model::check_checkpoint_size(file.size() as u64).map_err(|e| e.to_string())?;
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("the browser could not read it ({})", describe(e)))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}
