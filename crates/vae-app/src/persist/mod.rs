//! Keeping the visitor's work: the autosave in IndexedDB (checkpoint, curve, where the model
//! came from), and files in and out of the page.

pub mod files;
pub(crate) mod idb;
mod record;

use js_sys::{Float64Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::lab_types::{Curve, ModelInfo, ModelKind};
pub use record::{flatten_curve, unflatten_curve};

/// One autosave per browser profile and page origin: the latest state of the latest model.
const KEY: &str = "current";
const VERSION: f64 = 1.0;

/// An autosave read back.
pub struct Saved {
    pub checkpoint: Vec<u8>,
    pub curve: Curve,
    /// The model as it was named when saved, marked resumed.
    pub info: ModelInfo,
    /// `Date.now()` when it was written.
    pub saved_at: f64,
}

fn set(object: &Object, key: &str, value: &JsValue) {
    // Setting a plain property of a fresh object cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Writes the autosave, replacing the previous one only when the browser has taken the new
/// one whole (an IndexedDB transaction).
pub async fn save(checkpoint: &Uint8Array, curve: &Curve, info: &ModelInfo) -> Result<(), String> {
    let record = Object::new();
    set(&record, "version", &VERSION.into());
    set(&record, "checkpoint", checkpoint);
    let flat = flatten_curve(curve);
    set(
        &record,
        "curve",
        &Float64Array::from(flat.as_slice()).into(),
    );
    set(&record, "name", &info.name.as_str().into());
    set(&record, "kind", &info.kind.name().into());
    if let Some(description) = &info.description {
        set(&record, "description", &description.as_str().into());
    }
    if let Some(test) = info.scores.neg_elbo {
        set(&record, "test", &test.into());
    }
    if let Some((bound, samples)) = info.scores.neg_log_likelihood {
        set(&record, "testBound", &bound.into());
        set(&record, "testBoundSamples", &samples.into());
    }
    set(&record, "savedAt", &js_sys::Date::now().into());
    idb::put(KEY, &record.into()).await
}

/// The autosave, if there is one. A record this page cannot read is reported, not used.
pub async fn load() -> Result<Option<Saved>, String> {
    let record = idb::get(KEY).await?;
    if record.is_undefined() || record.is_null() {
        return Ok(None);
    }
    if get(&record, "version").as_f64() != Some(VERSION) {
        return Err("the saved model was written by another version of this page".into());
    }
    let checkpoint = get(&record, "checkpoint")
        .dyn_into::<Uint8Array>()
        .map_err(|_| "the saved model has no checkpoint".to_string())?
        .to_vec();
    let curve = get(&record, "curve")
        .dyn_into::<Float64Array>()
        .map_err(|_| "the saved model has no curve".to_string())?
        .to_vec();
    Ok(Some(Saved {
        checkpoint,
        curve: unflatten_curve(&curve)?,
        info: ModelInfo {
            kind: get(&record, "kind")
                .as_string()
                .and_then(|name| ModelKind::from_name(&name))
                .unwrap_or(ModelKind::File),
            name: get(&record, "name")
                .as_string()
                .unwrap_or_else(|| "your model".into()),
            description: get(&record, "description").as_string(),
            scores: vae_model::TestScores {
                neg_elbo: get(&record, "test").as_f64(),
                neg_log_likelihood: get(&record, "testBound").as_f64().zip(
                    get(&record, "testBoundSamples")
                        .as_f64()
                        .filter(|k| k.fract() == 0.0 && (1.0..=1e6).contains(k))
                        .map(|k| k as u32),
                ),
            },
            resumed: true,
        },
        saved_at: get(&record, "savedAt").as_f64().unwrap_or(0.0),
    }))
}

impl Saved {
    /// The step its checkpoint stopped at (0 if its header does not say).
    pub fn step(&self) -> u64 {
        vae_model::inspect_checkpoint(&self.checkpoint)
            .ok()
            .and_then(|summary| summary.step)
            .unwrap_or(0)
    }
}

pub async fn forget() -> Result<(), String> {
    idb::delete(KEY).await
}
