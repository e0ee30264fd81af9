//! Messages to and from JS values. 64-bit numbers (steps, seeds) travel as BigInts so none
//! loses precision.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::protocol::{Envelope, Reply};

pub fn to_js<T: Serialize>(message: &Envelope<T>) -> Result<JsValue, String> {
    let serializer =
        serde_wasm_bindgen::Serializer::new().serialize_large_number_types_as_bigints(true);
    message.serialize(&serializer).map_err(|e| e.to_string())
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
