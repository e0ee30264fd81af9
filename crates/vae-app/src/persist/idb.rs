//! IndexedDB, the browser's store for large binary values, through four promises: the API is
//! callback-shaped, and this small module turns it into what `JsFuture` awaits. Every failure
//! (no IndexedDB in a private window, a full quota, another tab blocking an upgrade) rejects
//! with the browser's error, which [`describe`] turns into words a visitor can act on.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = r#"
const DB = "vae-lab";
const STORE = "autosave";
function open() {
  return new Promise((resolve, reject) => {
    let request;
    try {
      request = indexedDB.open(DB, 1);
    } catch (error) {
      reject(error);
      return;
    }
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new DOMException("another tab holds the database", "BlockedError"));
  });
}
function run(mode, body) {
  return open().then((db) => new Promise((resolve, reject) => {
    let result;
    try {
      const transaction = db.transaction(STORE, mode);
      const request = body(transaction.objectStore(STORE));
      request.onsuccess = () => { result = request.result; };
      transaction.oncomplete = () => { db.close(); resolve(result); };
      transaction.onabort = transaction.onerror = () => {
        db.close();
        reject(transaction.error || request.error || new DOMException("aborted", "AbortError"));
      };
    } catch (error) {
      db.close();
      reject(error);
    }
  }));
}
export function idb_put(key, value) { return run("readwrite", (store) => store.put(value, key)); }
export function idb_get(key) { return run("readonly", (store) => store.get(key)); }
export function idb_delete(key) { return run("readwrite", (store) => store.delete(key)); }
export function idb_keys() { return run("readonly", (store) => store.getAllKeys()); }
"#)]
extern "C" {
    fn idb_put(key: &str, value: &JsValue) -> Promise;
    fn idb_get(key: &str) -> Promise;
    fn idb_delete(key: &str) -> Promise;
    fn idb_keys() -> Promise;
}

/// What went wrong with the browser's storage, in words.
pub fn describe(error: &JsValue) -> String {
    let name = error
        .dyn_ref::<web_sys::DomException>()
        .map(|e| e.name())
        .or_else(|| {
            error
                .dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.name()))
        })
        .unwrap_or_default();
    let detail = error
        .dyn_ref::<web_sys::DomException>()
        .map(|e| e.message())
        .or_else(|| {
            error
                .dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".into());
    match name.as_str() {
        "QuotaExceededError" => format!(
            "this browser's storage for the page is full ({detail}); free some space (remove a data set?) or download the model instead"
        ),
        "InvalidStateError" | "SecurityError" | "ReferenceError" | "TypeError" => format!(
            "this browser does not let the page store data (a private window?) ({detail}); download the model to keep it"
        ),
        _ => format!("the browser's storage failed ({name}: {detail})"),
    }
}

pub async fn put(key: &str, value: &JsValue) -> Result<(), String> {
    JsFuture::from(idb_put(key, value))
        .await
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// The value under `key`, or `undefined` when there is none.
pub async fn get(key: &str) -> Result<JsValue, String> {
    JsFuture::from(idb_get(key)).await.map_err(|e| describe(&e))
}

pub async fn delete(key: &str) -> Result<(), String> {
    JsFuture::from(idb_delete(key))
        .await
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// Every key in the store.
pub async fn keys() -> Result<Vec<String>, String> {
    let keys = JsFuture::from(idb_keys()).await.map_err(|e| describe(&e))?;
    Ok(js_sys::Array::from(&keys)
        .iter()
        .filter_map(|key| key.as_string())
        .collect())
}
