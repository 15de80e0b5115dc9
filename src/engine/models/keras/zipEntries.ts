// The few entries of a zip archive (a .keras file) that are needed, read from its central directory
// within a byte budget. fflate's unzipSync would inflate every entry: a 4 MB archive can hold
// gigabytes of entries the loader never reads. Here entries are chosen by name from the directory
// before anything is inflated, their declared sizes must fit the budget, and inflating stops as
// soon as an entry produces more than it declared (a directory can lie about sizes).
import { Inflate } from 'fflate';

export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflated. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

/** Why the archive cannot be read, for the caller's message. */
export class ZipError extends Error {}

const EOCD = 0x06054b50;
const ZIP64_EOCD_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const ZIP64_EXTRA = 0x0001;
const MAX_COMMENT = 0xffff;

/** Every entry the central directory lists (names and sizes only; nothing is inflated). */
export function listZipEntries(bytes: Uint8Array): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length - 22;
  const lowest = Math.max(0, bytes.length - 22 - MAX_COMMENT);
  while (end >= lowest && view.getUint32(end, true) !== EOCD) end--;
  if (end < lowest) throw new ZipError('no end of central directory record');
  let entries = view.getUint16(end + 10, true);
  let directory = view.getUint32(end + 16, true);
  if (end >= 20 && view.getUint32(end - 20, true) === ZIP64_EOCD_LOCATOR) {
    const zip64 = Number(view.getBigUint64(end - 12, true));
    if (zip64 + 56 > bytes.length || view.getUint32(zip64, true) !== ZIP64_EOCD) throw new ZipError('damaged zip64 end record');
    entries = Number(view.getBigUint64(zip64 + 32, true));
    directory = Number(view.getBigUint64(zip64 + 48, true));
  }
  const list: ZipEntry[] = [];
  let at = directory;
  for (let i = 0; i < entries; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== CENTRAL_HEADER) throw new ZipError('damaged central directory');
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let compressedSize = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    let localHeaderOffset = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // Zip64: sizes and offset of 0xFFFFFFFF are in the extra field, in this order, when saturated.
    for (let extra = at + 46 + nameLength; extra + 4 <= at + 46 + nameLength + extraLength; ) {
      const id = view.getUint16(extra, true);
      const length = view.getUint16(extra + 2, true);
      if (id === ZIP64_EXTRA) {
        let field = extra + 4;
        const next = (): number => {
          const value = Number(view.getBigUint64(field, true));
          field += 8;
          return value;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      extra += 4 + length;
    }
    list.push({ name, method: view.getUint16(at + 10, true), compressedSize, size, localHeaderOffset });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return list;
}

/** An entry's bytes: exactly its declared size, else a ZipError (nothing beyond it is inflated). */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = entry.localHeaderOffset;
  if (header + 30 > bytes.length || view.getUint32(header, true) !== LOCAL_HEADER) throw new ZipError(`damaged local header of ${entry.name}`);
  const start = header + 30 + view.getUint16(header + 26, true) + view.getUint16(header + 28, true);
  if (start + entry.compressedSize > bytes.length) throw new ZipError(`${entry.name} runs past the end of the file`);
  const compressed = bytes.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw new ZipError(`stored entry ${entry.name} has two sizes`);
    return compressed.slice();
  }
  if (entry.method !== 8) throw new ZipError(`${entry.name} uses compression method ${entry.method} (not deflate)`);
  const out = new Uint8Array(entry.size);
  let written = 0;
  const inflate = new Inflate((chunk) => {
    if (written + chunk.length > entry.size) throw new ZipError(`${entry.name} inflates to more than the ${entry.size} bytes it declares`);
    out.set(chunk, written);
    written += chunk.length;
  });
  // Small pushes, so a lying entry is caught after a few megabytes rather than gigabytes.
  const step = 4096;
  for (let offset = 0; offset < compressed.length; offset += step) {
    inflate.push(compressed.subarray(offset, offset + step), offset + step >= compressed.length);
  }
  if (compressed.length === 0) inflate.push(new Uint8Array(0), true);
  if (written !== entry.size) throw new ZipError(`${entry.name} inflates to ${written} bytes, not the ${entry.size} it declares`);
  return out;
}
