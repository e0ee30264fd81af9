//! The browser's side of an import: the files a visitor dropped or picked (folders walked, each
//! with its path), their bytes, and images decoded by the browser in `decode-worker.js`, off the
//! main thread. Small promise-shaped helpers in JavaScript, awaited here.

use js_sys::{Array, Promise, Reflect, Uint8Array};
use mnist_shard::import::DecodedImage;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = r#"
// Two decoders (one on a single core): a small PNG's decode is mostly waiting on the browser's
// image pipeline, and two overlap it (10,000 PNGs: 9.2 s with one, 7.4 s with two, Chromium on
// 2 cores).
const workers = [];
let next = 0;
const waiting = new Map();
function decoder(url) {
  const count = Math.max(1, Math.min(2, navigator.hardwareConcurrency ?? 2));
  if (workers.length < count) {
    const worker = new Worker(url);
    worker.onmessage = ({ data }) => {
      const done = waiting.get(data.id);
      waiting.delete(data.id);
      if (done) done(data);
    };
    worker.onerror = (event) => {
      for (const done of waiting.values()) done({ error: `the decoder failed (${event.message ?? 'error'})` });
      waiting.clear();
      workers.length = 0;
    };
    workers.push(worker);
  }
  return workers[next % workers.length];
}
export function decode_image(url, bytes, maxPixels) {
  const id = next++;
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    decoder(url).postMessage({ id, bytes: buffer, maxPixels }, [buffer]);
  });
}
// Every file of a drop, folders walked (sorted by path), as { file, path }.
export async function dropped_files(transfer) {
  const entries = [...(transfer.items ?? [])]
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry?.())
    .filter(Boolean);
  const out = [];
  if (entries.length === 0) out.push(...[...(transfer.files ?? [])].map((file) => ({ file, path: file.name })));
  const walk = async (entry) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path: entry.fullPath.replace(/^\//, '') });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child);
      }
    }
  };
  for (const entry of entries) await walk(entry);
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out;
}
"#)]
extern "C" {
    fn decode_image(url: &str, bytes: &Uint8Array, max_pixels: f64) -> Promise;
    fn dropped_files(transfer: &web_sys::DataTransfer) -> Promise;
}

/// An image is drawn at most this large by the decoder (a photo shrinks to about 1000 × 1000
/// before the area-averaging resize), so memory stays bounded whatever the visitor brings.
const MAX_DECODED_PIXELS: f64 = 1_048_576.0;

/// One file to import: the browser's handle and its path (folders included, `/`-separated).
#[derive(Clone)]
pub struct PickedFile {
    pub file: web_sys::File,
    pub path: String,
}

impl PickedFile {
    /// The class its path gives: the folder it is in below the one dropped or picked, if any.
    pub fn class(&self) -> String {
        let parts: Vec<&str> = self.path.split('/').collect();
        match parts.len() {
            0..=2 => String::new(),
            _ => parts[1].to_string(),
        }
    }
}

fn file_path(value: &JsValue) -> Option<PickedFile> {
    let file = Reflect::get(value, &"file".into())
        .ok()?
        .dyn_into::<web_sys::File>()
        .ok()?;
    let path = Reflect::get(value, &"path".into()).ok()?.as_string()?;
    Some(PickedFile { file, path })
}

/// The files of a drop, folders walked. Called in the drop's handler: the browser hands out a
/// drop's entries only while it runs, so they are taken before this returns.
pub fn from_drop(
    transfer: &web_sys::DataTransfer,
) -> impl std::future::Future<Output = Vec<PickedFile>> {
    let listing = JsFuture::from(dropped_files(transfer));
    async move {
        match listing.await {
            Ok(list) => Array::from(&list)
                .iter()
                .filter_map(|v| file_path(&v))
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// The files of a file input (a folder picker gives each its relative path).
pub fn from_input(list: &web_sys::FileList) -> Vec<PickedFile> {
    let mut out: Vec<PickedFile> = (0..list.length())
        .filter_map(|i| list.get(i))
        .map(|file| {
            let relative = Reflect::get(&file, &"webkitRelativePath".into())
                .ok()
                .and_then(|v| v.as_string())
                .filter(|p| !p.is_empty());
            let path = relative.unwrap_or_else(|| file.name());
            PickedFile { file, path }
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// A file's bytes.
pub async fn read(file: &web_sys::File) -> Result<Vec<u8>, String> {
    start_read(file).bytes().await
}

/// A file being read: the browser starts when this is made, so several reads overlap.
pub struct Reading(JsFuture);

pub fn start_read(file: &web_sys::File) -> Reading {
    Reading(JsFuture::from(file.array_buffer()))
}

impl Reading {
    pub async fn bytes(self) -> Result<Vec<u8>, String> {
        let buffer = self
            .0
            .await
            .map_err(|e| format!("could not be read ({e:?})"))?;
        Ok(Uint8Array::new(&buffer).to_vec())
    }
}

/// An image on its way through the decoder: requests are sent when made, so several in flight
/// keep the worker busy while the page awaits the first.
pub struct Decoding(JsFuture);

/// Sends `bytes` to the decoder.
pub fn decode(worker_url: &str, bytes: &[u8]) -> Decoding {
    Decoding(JsFuture::from(decode_image(
        worker_url,
        &Uint8Array::from(bytes),
        MAX_DECODED_PIXELS,
    )))
}

impl Decoding {
    /// The image decoded by the browser, RGBA, shrunk if it was huge.
    pub async fn image(self) -> Result<DecodedImage, String> {
        let reply = self.0.await.map_err(|e| format!("{e:?}"))?;
        if let Some(error) = Reflect::get(&reply, &"error".into())
            .ok()
            .and_then(|e| e.as_string())
        {
            return Err(error);
        }
        let number = |key: &str| {
            Reflect::get(&reply, &key.into())
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0) as usize
        };
        let pixels = Reflect::get(&reply, &"pixels".into())
            .map(|buffer| Uint8Array::new(&buffer).to_vec())
            .unwrap_or_default();
        let (width, height) = (number("width"), number("height"));
        if width == 0 || height == 0 || pixels.len() != width * height * 4 {
            return Err("the decoder gave no pixels".into());
        }
        Ok(DecodedImage {
            width,
            height,
            channels: 4,
            pixels,
        })
    }
}
