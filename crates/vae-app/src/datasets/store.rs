//! The visitor's data sets in this browser (IndexedDB, beside the autosave): each under
//! `data:<id>` with its name, classes and shard, and which one the lab trains on under
//! `data-selected`, so a reload finds both. A record that does not parse as a shard is
//! reported and left out, never used.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::persist::idb;

const PREFIX: &str = "data:";
const SELECTED: &str = "data-selected";
const VERSION: f64 = 1.0;

/// One stored data set, as read back.
pub struct StoredSet {
    pub id: String,
    pub name: String,
    pub classes: Vec<String>,
    pub shard: Vec<u8>,
}

fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Keeps a data set; the browser takes it whole or not at all (a full quota is an error).
pub async fn save(set_: &StoredSet) -> Result<(), String> {
    let record = Object::new();
    set(&record, "version", &VERSION.into());
    set(&record, "name", &set_.name.as_str().into());
    let classes: Array = set_.classes.iter().map(|c| JsValue::from_str(c)).collect();
    set(&record, "classes", &classes.into());
    set(
        &record,
        "shard",
        &Uint8Array::from(set_.shard.as_slice()).into(),
    );
    set(&record, "savedAt", &js_sys::Date::now().into());
    idb::put(&format!("{PREFIX}{}", set_.id), &record.into()).await
}

/// Every stored data set in the order they were added (ids are times), and what could not be
/// read.
pub async fn load_all() -> Result<(Vec<StoredSet>, Vec<String>), String> {
    let mut ids: Vec<String> = idb::keys()
        .await?
        .into_iter()
        .filter_map(|key| key.strip_prefix(PREFIX).map(str::to_string))
        .collect();
    ids.sort_by_key(|id| (id.len(), id.clone()));
    let mut sets = Vec::new();
    let mut problems = Vec::new();
    for id in ids {
        let record = idb::get(&format!("{PREFIX}{id}")).await?;
        let name = get(&record, "name")
            .as_string()
            .unwrap_or_else(|| id.clone());
        if get(&record, "version").as_f64() != Some(VERSION) {
            problems.push(format!("{name}: written by another version of this page"));
            continue;
        }
        let Ok(shard) = get(&record, "shard").dyn_into::<Uint8Array>() else {
            problems.push(format!("{name}: its images are missing"));
            continue;
        };
        let classes = Array::from(&get(&record, "classes"))
            .iter()
            .filter_map(|c| c.as_string())
            .collect();
        sets.push(StoredSet {
            id,
            name,
            classes,
            shard: shard.to_vec(),
        });
    }
    Ok((sets, problems))
}

pub async fn remove(id: &str) -> Result<(), String> {
    idb::delete(&format!("{PREFIX}{id}")).await
}

/// The data set the lab trains on: None for the bundled MNIST.
pub async fn selected() -> Result<Option<String>, String> {
    Ok(idb::get(SELECTED).await?.as_string())
}

pub async fn select(id: Option<&str>) -> Result<(), String> {
    match id {
        Some(id) => idb::put(SELECTED, &id.into()).await,
        None => idb::delete(SELECTED).await,
    }
}
