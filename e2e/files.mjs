// Files a visitor might bring, made in the page: PNGs of drawn shapes (two classes), zips,
// NumPy arrays, a bare PNG header; and a drop that delivers them as a drag from the desktop
// does. Shared by e2e/own-data.test.mjs and scripts/screenshot-own-data.mjs.

/** Installs the page-side makers of test files (`window.testFiles`). */
export async function installMakers(page) {
  await page.evaluate(() => {
    const table = new Uint32Array(256).map((_, n) => {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      return c >>> 0;
    });
    const crc32 = (bytes) => {
      let crc = 0xffffffff;
      for (const b of bytes) crc = table[(crc ^ b) & 0xff] ^ (crc >>> 8);
      return (crc ^ 0xffffffff) >>> 0;
    };
    /** A zip of `entries` ({ name, bytes }), stored (or `{ method: 8, size }` for raw deflate). */
    const zip = (entries) => {
      const parts = [];
      const central = [];
      let offset = 0;
      for (const { name, bytes, method = 0, size = bytes.length, crc = crc32(bytes) } of entries) {
        const path = new TextEncoder().encode(name);
        const local = new DataView(new ArrayBuffer(30));
        local.setUint32(0, 0x04034b50, true);
        local.setUint16(4, 20, true);
        local.setUint16(8, method, true);
        local.setUint32(14, crc, true);
        local.setUint32(18, bytes.length, true);
        local.setUint32(22, size, true);
        local.setUint16(26, path.length, true);
        parts.push(new Uint8Array(local.buffer), path, bytes);
        const entry = new DataView(new ArrayBuffer(46));
        entry.setUint32(0, 0x02014b50, true);
        entry.setUint16(4, 20, true);
        entry.setUint16(6, 20, true);
        entry.setUint16(10, method, true);
        entry.setUint32(16, crc, true);
        entry.setUint32(20, bytes.length, true);
        entry.setUint32(24, size, true);
        entry.setUint16(28, path.length, true);
        entry.setUint32(42, offset, true);
        central.push(new Uint8Array(entry.buffer), path);
        offset += 30 + path.length + bytes.length;
      }
      const directory = central.reduce((sum, part) => sum + part.length, 0);
      const end = new DataView(new ArrayBuffer(22));
      end.setUint32(0, 0x06054b50, true);
      end.setUint16(8, entries.length, true);
      end.setUint16(10, entries.length, true);
      end.setUint32(12, directory, true);
      end.setUint32(16, offset, true);
      return new Blob([...parts, ...central, new Uint8Array(end.buffer)]);
    };
    /** A PNG of a black shape on white: a bar (class 0) or a ring (class 1), placed by `i`. */
    const shape = async (kind, i, width = 40, height = 40) => {
      const canvas = new OffscreenCanvas(width, height);
      const context = canvas.getContext('2d');
      context.fillStyle = '#fff';
      context.fillRect(0, 0, width, height);
      context.fillStyle = context.strokeStyle = '#000';
      const shift = (i % 7) - 3;
      if (kind === 'bars') {
        context.fillRect(6 + shift, 14 + (i % 5) * 2, 26, 6);
      } else {
        context.lineWidth = 4;
        context.beginPath();
        context.arc(20 + shift, 20 - shift, 8 + (i % 4), 0, 2 * Math.PI);
        context.stroke();
      }
      return new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    };
    /** A PNG of a coloured shape on black: a red bar (class 0) or a blue ring (class 1). */
    const colourShape = async (kind, i, side = 32) => {
      const canvas = new OffscreenCanvas(side, side);
      const context = canvas.getContext('2d');
      context.fillStyle = '#000';
      context.fillRect(0, 0, side, side);
      const shift = (i % 7) - 3;
      if (kind === 'red') {
        context.fillStyle = '#e8281e';
        context.fillRect(4 + shift, 10 + (i % 5) * 2, 22, 7);
      } else {
        context.strokeStyle = '#2864f0';
        context.lineWidth = 4;
        context.beginPath();
        context.arc(16 + shift, 16 - shift, 7 + (i % 4), 0, 2 * Math.PI);
        context.stroke();
      }
      return new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    };
    /** A NumPy .npy of `values` (a typed array) with `shape`. */
    const npy = (descr, shape, values) => {
      let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
      header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
      const head = new Uint8Array(10 + header.length);
      head.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
      head.set(new TextEncoder().encode(header), 10);
      return new Blob([head, new Uint8Array(values.buffer)]);
    };
    /** A PNG's signature and header claiming `width × height` (no pixels follow). */
    const pngHeader = (width, height) => {
      const bytes = new Uint8Array(33);
      bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
      new DataView(bytes.buffer).setUint32(16, width);
      new DataView(bytes.buffer).setUint32(20, height);
      return bytes;
    };
    /** Drops `files` on the page, as a drag from the desktop arrives. */
    const drop = (files) => {
      const transfer = new DataTransfer();
      for (const file of files) transfer.items.add(file);
      document.querySelector('#data-drop').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    };
    window.testFiles = { zip, shape, colourShape, npy, pngHeader, drop };
  });
}

/** The zip of shapes: `perClass` bars and rings in folders, a corrupt PNG and a note beside. */
export function dropShapes(page, perClass) {
  return page.evaluate(async (perClass) => {
    const { zip, shape, drop } = window.testFiles;
    const entries = [];
    for (const kind of ['bars', 'rings']) {
      for (let i = 0; i < perClass; i++) entries.push({ name: `${kind}/${i}.png`, bytes: await shape(kind, i) });
    }
    entries.push({ name: 'rings/broken.png', bytes: new TextEncoder().encode('not a png at all') });
    entries.push({ name: 'notes.txt', bytes: new TextEncoder().encode('drawn by the test') });
    const archive = zip(entries);
    // Kept for the test to give `vae data` the very same bytes.
    window.droppedBytes = new Uint8Array(await archive.arrayBuffer());
    drop([new File([archive], 'shapes.zip')]);
  }, perClass);
}

/** A zip of `perClass` red bars and blue rings on black, 32 × 32, in folders `red/` and `blue/`. */
export function dropColourShapes(page, perClass) {
  return page.evaluate(async (perClass) => {
    const { zip, colourShape, drop } = window.testFiles;
    const entries = [];
    for (const kind of ['red', 'blue']) {
      for (let i = 0; i < perClass; i++) entries.push({ name: `${kind}/${i}.png`, bytes: await colourShape(kind, i) });
    }
    drop([new File([zip(entries)], 'colours.zip')]);
  }, perClass);
}

/** The shard of the visitor's first data set in this page's IndexedDB, as bytes. */
export async function storedShard(page) {
  const bytes = await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const opening = indexedDB.open('vae-lab', 1);
        opening.onerror = () => reject(opening.error);
        opening.onsuccess = () => {
          const store = opening.result.transaction('autosave').objectStore('autosave');
          const keys = store.getAllKeys();
          keys.onsuccess = () => {
            const record = store.get(keys.result.find((key) => String(key).startsWith('data:')));
            record.onsuccess = () => resolve(Array.from(record.result.shard));
          };
        };
      }),
  );
  return Buffer.from(bytes);
}
