// A ZIP archive of files built in the browser, STORE only (JPEGs do not compress; the CLI packs
// its batches the same way). The archive is a Blob made of the headers and the files themselves,
// so nothing is copied; only the CRC-32 of each file needs its bytes, read a slice at a time with
// a pause between slices, so the page stays responsive while a batch of photos is packed.

const SLICE_BYTES = 4 * 1024 * 1024;
const UTF8_FLAG = 0x0800; // names are UTF-8
const DOS_DATE_1980 = (0 << 9) | (1 << 5) | 1; // 1980-01-01: ZIP's epoch; the API ignores member dates
const MAX_SIZE = 0xffffffff; // no ZIP64: a batch stays far below 4 GB

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes, crc = 0) {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i += 1) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 0));

async function fileCrc(file) {
  let crc = 0;
  for (let start = 0; start < file.size; start += SLICE_BYTES) {
    const slice = new Uint8Array(await file.slice(start, start + SLICE_BYTES).arrayBuffer());
    crc = crc32(slice, crc);
    await pause();
  }
  return crc;
}

function header(size) {
  const buffer = new ArrayBuffer(size);
  return { bytes: new Uint8Array(buffer), view: new DataView(buffer) };
}

// entries: [{name, file}] → a Blob of type application/zip.
export async function zip(entries) {
  const encoder = new TextEncoder();
  const parts = [];
  const central = [];
  let offset = 0;
  for (const { name, file } of entries) {
    if (file.size > MAX_SIZE) throw new Error(`${name} is too large for a ZIP batch`);
    const nameBytes = encoder.encode(name);
    const crc = await fileCrc(file);
    const local = header(30 + nameBytes.length);
    local.view.setUint32(0, 0x04034b50, true);
    local.view.setUint16(4, 20, true); // version needed: 2.0
    local.view.setUint16(6, UTF8_FLAG, true);
    local.view.setUint16(8, 0, true); // method: stored
    local.view.setUint16(10, 0, true); // time
    local.view.setUint16(12, DOS_DATE_1980, true);
    local.view.setUint32(14, crc, true);
    local.view.setUint32(18, file.size, true);
    local.view.setUint32(22, file.size, true);
    local.view.setUint16(26, nameBytes.length, true);
    local.view.setUint16(28, 0, true);
    local.bytes.set(nameBytes, 30);
    parts.push(local.bytes, file);

    const entry = header(46 + nameBytes.length);
    entry.view.setUint32(0, 0x02014b50, true);
    entry.view.setUint16(4, 20, true); // made by
    entry.view.setUint16(6, 20, true); // needed
    entry.view.setUint16(8, UTF8_FLAG, true);
    entry.view.setUint16(10, 0, true);
    entry.view.setUint16(12, 0, true);
    entry.view.setUint16(14, DOS_DATE_1980, true);
    entry.view.setUint32(16, crc, true);
    entry.view.setUint32(20, file.size, true);
    entry.view.setUint32(24, file.size, true);
    entry.view.setUint16(28, nameBytes.length, true);
    entry.view.setUint32(42, offset, true); // the rest (extra, comment, disk, attributes) stays 0
    entry.bytes.set(nameBytes, 46);
    central.push(entry.bytes);
    offset += local.bytes.length + file.size;
    if (offset > MAX_SIZE) throw new Error("the batch is too large for a ZIP without ZIP64");
  }
  const directorySize = central.reduce((sum, part) => sum + part.length, 0);
  const end = header(22);
  end.view.setUint32(0, 0x06054b50, true);
  end.view.setUint16(8, entries.length, true);
  end.view.setUint16(10, entries.length, true);
  end.view.setUint32(12, directorySize, true);
  end.view.setUint32(16, offset, true);
  return new Blob([...parts, ...central, end.bytes], { type: "application/zip" });
}
