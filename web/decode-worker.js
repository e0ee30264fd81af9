// Decodes the visitor's image files for the lab's data import, off the page's main thread:
// the browser's own decoders (PNG, JPEG, WebP, GIF, BMP) through createImageBitmap, the pixels
// read from an OffscreenCanvas. The page has already refused any file whose header claims more
// pixels than it takes; an image larger than `maxPixels` is drawn shrunk to that many (its aspect
// kept), so what comes back stays small whatever the photo. The page does the rest (ink, resize,
// binarize) in the code `vae data` shares.
//
// In:  { id, bytes: ArrayBuffer, maxPixels }            (bytes transferred)
// Out: { id, width, height, pixels: ArrayBuffer (RGBA) } (pixels transferred) or { id, error }
self.onmessage = async ({ data: { id, bytes, maxPixels } }) => {
  try {
    const bitmap = await createImageBitmap(new Blob([bytes]));
    const scale = Math.min(1, Math.sqrt(maxPixels / (bitmap.width * bitmap.height)));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.imageSmoothingQuality = 'high';
    context.drawImage(bitmap, 0, 0, width, height);
    bitmap.close();
    const pixels = context.getImageData(0, 0, width, height).data.buffer;
    self.postMessage({ id, width, height, pixels }, [pixels]);
  } catch (error) {
    self.postMessage({ id, error: `not an image the browser can decode (${error?.name ?? 'Error'})` });
  }
};
