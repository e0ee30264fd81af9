//! Downloading the bundled data with progress, without blocking the page.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::tasks::next_task;

// The browser's gzip inflater (Compression Streams), bound here: web-sys has it only behind
// its unstable-APIs flag.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = DecompressionStream)]
    type Inflater;
    #[wasm_bindgen(constructor, js_class = "DecompressionStream", catch)]
    fn new(format: &str) -> Result<Inflater, JsValue>;
    /// A `ReadableStream`, seen through the one method needed here.
    #[wasm_bindgen(js_name = ReadableStream)]
    type Piped;
    #[wasm_bindgen(method, js_name = pipeThrough)]
    fn pipe_through(this: &Piped, inflater: &Inflater) -> web_sys::ReadableStream;
}

// `bytes` as a stream of `size`-byte pieces, each given only when the reader downstream asks:
// an inflater fed so inflates a piece per read, not the whole file in one task.
#[wasm_bindgen(inline_js = "export function in_pieces(bytes, size) {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  }, { highWaterMark: 0 });
}")]
extern "C" {
    fn in_pieces(bytes: &Uint8Array, size: u32) -> Piped;
}

/// Bytes of gzip fed to the inflater at a time: about 300 kB inflated, a few milliseconds.
const GZIP_PIECE: u32 = 64 << 10;

/// Bytes inflated, or hashed, between two yields to the browser: a few milliseconds on a slow
/// phone.
const HASHED_PER_TASK: usize = 256 << 10;

/// A download's content, un-gzipped where it is gzip'd, and its shard checksum
/// ([`mnist_shard::Checksum`]). The browser inflates it (`DecompressionStream`, native and in
/// chunks) and the checksum is taken chunk by chunk, yielding between megabytes, so no long task
/// blocks the page; where the browser has no `DecompressionStream`, `mnist_shard::decompress`
/// does it.
pub async fn unpack_shard(download: Vec<u8>, name: &str) -> Result<(Vec<u8>, u32), String> {
    let gzip = download.starts_with(&[0x1f, 0x8b]);
    let inflater = gzip.then(|| Inflater::new("gzip").ok()).flatten();
    let raw = match inflater {
        // Said as the loader says it (`mnist_shard::decompress`), whichever inflated it.
        Some(inflater) => inflate(&download, &inflater).await.map_err(|kind| {
            mnist_shard::ShardError {
                file: name.to_string(),
                kind,
            }
            .to_string()
        })?,
        None if gzip => mnist_shard::decompress(&download, name)
            .map_err(|e| e.to_string())?
            .into_owned(),
        None => download,
    };
    let mut checksum = mnist_shard::Checksum::default();
    for part in raw.chunks(HASHED_PER_TASK) {
        checksum.update(part);
        next_task().await;
    }
    Ok((raw, checksum.finish()))
}

/// The most a gzip'd shard may inflate to (`mnist_shard::decompress`'s limit too).
const MAX_INFLATED: usize = 512 << 20;

/// `bytes` through the browser's gzip inflater, fed a piece at a time and read a chunk at a
/// time with a yield to the browser after every 256 kB: the stream inflates as it is read,
/// so the inflating is spread over those tasks too.
async fn inflate(
    bytes: &[u8],
    inflater: &Inflater,
) -> Result<Vec<u8>, mnist_shard::ShardErrorKind> {
    use mnist_shard::ShardErrorKind::{Gzip, TooLarge};
    let stream = in_pieces(&Uint8Array::from(bytes), GZIP_PIECE).pipe_through(inflater);
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    // gzip's trailer says how long the content is (modulo 4 GB): room for it at once.
    let stated = bytes
        .len()
        .checked_sub(4)
        .map(|at| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]));
    let mut out = Vec::with_capacity(stated.map_or(0, |n| (n as usize).min(MAX_INFLATED)));
    let mut since_yield = 0;
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|error| Gzip(describe(error)))?;
        if Reflect::get(&chunk, &JsValue::from_str("done"))
            .ok()
            .and_then(|done| done.as_bool())
            .unwrap_or(true)
        {
            return Ok(out);
        }
        let value: Uint8Array = Reflect::get(&chunk, &JsValue::from_str("value"))
            .map_err(|error| Gzip(describe(error)))?
            .unchecked_into();
        let start = out.len();
        if start + value.length() as usize > MAX_INFLATED {
            let _ = reader.cancel();
            return Err(TooLarge {
                limit: MAX_INFLATED as u64,
            });
        }
        out.resize(start + value.length() as usize, 0);
        value.copy_to(&mut out[start..]);
        since_yield += value.length() as usize;
        if since_yield >= HASHED_PER_TASK {
            since_yield = 0;
            next_task().await;
        }
    }
}

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
