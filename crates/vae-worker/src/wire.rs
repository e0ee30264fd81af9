//! Messages to and from JS values. 64-bit numbers (steps, seeds) travel as BigInts so none
//! loses precision. A message's bytes (a shard, a checkpoint, images) are each copied once out
//! of wasm memory into a `Uint8Array` of their own, whose buffer is then transferred, not
//! copied again by `postMessage` (for the 6 MB shard that clone took 3-12 ms of the page's
//! thread at the start).

use js_sys::{Array, ArrayBuffer, Object, Uint8Array};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::protocol::{Envelope, Reply};

pub fn to_js<T: Serialize>(message: &Envelope<T>) -> Result<JsValue, String> {
    let serializer =
        serde_wasm_bindgen::Serializer::new().serialize_large_number_types_as_bigints(true);
    message.serialize(&serializer).map_err(|e| e.to_string())
}

/// [`to_js`], with the buffers of the message's byte arrays to transfer with it. Each is the
/// message's own copy (serde-wasm-bindgen copies bytes out of wasm memory), so nothing else
/// holds it.
pub fn to_js_transferring<T: Serialize>(message: &Envelope<T>) -> Result<(JsValue, Array), String> {
    let value = to_js(message)?;
    let buffers = Array::new();
    collect_byte_buffers(&value, &buffers, 0);
    Ok((value, buffers))
}

/// Bytes are fields of objects in this protocol, never items of arrays, so arrays (which may
/// hold thousands of numbers) are not walked.
fn collect_byte_buffers(value: &JsValue, into: &Array, depth: u32) {
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        into.push(&bytes.buffer());
    } else if depth < 4
        && value.is_object()
        && !Array::is_array(value)
        && !ArrayBuffer::is_view(value)
    {
        for field in Object::values(value.unchecked_ref()).iter() {
            collect_byte_buffers(&field, into, depth + 1);
        }
    }
}

pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<Envelope<T>, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// A reply that could not be encoded, as a failure the page can read.
pub fn encoding_failed(id: u64, error: String) -> Option<JsValue> {
    to_js(&Envelope {
        id,
        body: Reply::Failed(format!("the reply could not be encoded: {error}")),
    })
    .ok()
}
