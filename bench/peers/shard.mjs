// The lab's MNIST shard (crates/mnist-shard/FORMAT.md) read in JavaScript for the peer pages:
// gunzip with the browser's DecompressionStream, then the bit-packed images as 0/1 floats.
export async function loadShard(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  const raw = new Uint8Array(await new Response(response.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  const view = new DataView(raw.buffer);
  const [width, height, trainCount, testCount] = [16, 20, 24, 28].map((at) => view.getUint32(at, true));
  const [trainAt, , testAt] = [40, 44, 48].map((at) => view.getUint32(at, true));
  const pixels = width * height;
  const words = Math.ceil(pixels / 32);
  const unpack = (at, count) => {
    const images = new Float32Array(count * pixels);
    for (let i = 0; i < count; i += 1) {
      for (let p = 0; p < pixels; p += 1) {
        const word = view.getUint32(at + (i * words + (p >> 5)) * 4, true);
        images[i * pixels + p] = (word >>> (p & 31)) & 1;
      }
    }
    return images;
  };
  return { train: unpack(trainAt, trainCount), test: unpack(testAt, testCount), pixels };
}
