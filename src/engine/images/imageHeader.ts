// Pixel sizes read from image headers, so a decompression bomb (a 35-byte GIF declaring a 16000²
// screen, a 420 KB PNG of 12000²) is refused before a decoder allocates for it. Only the fields
// the decoders themselves size their buffers from are read:
//   PNG   IHDR (the first chunk);
//   GIF   the logical screen (omggif allocates the whole screen) and every frame's descriptor;
//   JPEG  every SOFn segment before the first scan;
//   BMP   the DIB header (a negative height is a top-down image);
//   WebP  the VP8 / VP8L / VP8X header (VP8X gives the canvas);
//   TIFF  every IFD in the chain (jimp decodes every page).
// A header cut short gives the sizes read before the cut (a GIF's screen, the first TIFF pages):
// the decoder then fails on the same damage, and never allocates more than those allow.
export type ImageFormat = 'PNG' | 'JPEG' | 'BMP' | 'GIF' | 'WebP' | 'TIFF';

export interface ImageExtent {
  width: number;
  height: number;
  /** Which part of the file: "" for the image, "logical screen", "frame 2", "page 3". */
  part: string;
}

/** The pixel sizes a file declares, as its decoder will allocate them. */
export function imageExtents(bytes: Uint8Array, format: ImageFormat): ImageExtent[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const extents: ImageExtent[] = [];
  try {
    const read = { PNG: pngExtents, GIF: gifExtents, JPEG: jpegExtents, BMP: bmpExtents, WebP: webpExtents, TIFF: tiffExtents }[format];
    read(bytes, view, extents);
  } catch (error) {
    // Reading past the end (a DataView RangeError): keep what was read, the decoder reports the rest.
    if (!(error instanceof RangeError)) throw error;
  }
  if (format === 'TIFF' && extents.length === 1) extents[0].part = '';
  return extents;
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

type ExtentReader = (bytes: Uint8Array, view: DataView, extents: ImageExtent[]) => void;

const pngExtents: ExtentReader = (bytes, view, extents) => {
  if (ascii(bytes, 12, 4) === 'IHDR') extents.push({ width: view.getUint32(16), height: view.getUint32(20), part: '' });
};

const gifExtents: ExtentReader = (bytes, view, extents) => {
  extents.push({ width: view.getUint16(6, true), height: view.getUint16(8, true), part: 'logical screen' });
  const packed = view.getUint8(10);
  let offset = 13 + (packed & 0x80 ? 3 * 2 ** ((packed & 7) + 1) : 0);
  const skipSubBlocks = (): void => {
    for (let size = view.getUint8(offset++); size !== 0; size = view.getUint8(offset++)) {
      offset += size;
    }
  };
  let frame = 0;
  while (offset < bytes.length) {
    const block = view.getUint8(offset++);
    if (block === 0x3b) break; // trailer
    if (block === 0x21) {
      offset++; // extension label
      skipSubBlocks();
    } else if (block === 0x2c) {
      frame++;
      extents.push({ width: view.getUint16(offset + 4, true), height: view.getUint16(offset + 6, true), part: `frame ${frame}` });
      const framePacked = view.getUint8(offset + 8);
      offset += 9 + (framePacked & 0x80 ? 3 * 2 ** ((framePacked & 7) + 1) : 0);
      offset++; // LZW minimum code size
      skipSubBlocks();
    } else {
      break; // not a GIF block: the decoder says what is wrong
    }
  }
};

/** SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

const jpegExtents: ExtentReader = (bytes, view, extents) => {
  let offset = 2; // after SOI
  while (offset + 4 <= bytes.length) {
    if (view.getUint8(offset) !== 0xff) break;
    const marker = view.getUint8(offset + 1);
    if (marker === 0xff) {
      offset++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2; // no length
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // the first scan, or the end: frames come before
    const length = view.getUint16(offset + 2);
    if (isStartOfFrame(marker)) {
      // A height of 0 is given later by a DNL segment; jpeg-js's own resolution limit covers it.
      extents.push({ width: view.getUint16(offset + 7), height: view.getUint16(offset + 5), part: extents.length ? `frame ${extents.length + 1}` : '' });
    }
    offset += 2 + length;
  }
};

const bmpExtents: ExtentReader = (_bytes, view, extents) => {
  const core = view.getUint32(14, true) === 12; // BITMAPCOREHEADER: 16-bit sizes
  const width = core ? view.getUint16(18, true) : Math.abs(view.getInt32(18, true));
  const height = core ? view.getUint16(20, true) : Math.abs(view.getInt32(22, true));
  extents.push({ width, height, part: '' });
};

const webpExtents: ExtentReader = (bytes, view, extents) => {
  const chunk = ascii(bytes, 12, 4);
  if (chunk === 'VP8 ') {
    // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height (2 bits of scaling).
    extents.push({ width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff, part: '' });
  } else if (chunk === 'VP8L') {
    // Signature 0x2f, then width − 1 and height − 1 in 14 bits each, little-endian.
    const bits = view.getUint32(21, true);
    extents.push({ width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, part: '' });
  } else if (chunk === 'VP8X') {
    // Flags (1 byte), reserved (3), canvas width − 1 and height − 1 in 24 bits each.
    const uint24 = (at: number): number => view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getUint8(at + 2) << 16);
    extents.push({ width: uint24(24) + 1, height: uint24(27) + 1, part: '' });
  }
};

const tiffExtents: ExtentReader = (_bytes, view, extents) => {
  const little = view.getUint16(0) === 0x4949;
  const u16 = (at: number): number => view.getUint16(at, little);
  const u32 = (at: number): number => view.getUint32(at, little);
  const seen = new Set<number>();
  for (let ifd = u32(4); ifd !== 0 && !seen.has(ifd) && extents.length < 1024; ifd = u32(ifd + 2 + u16(ifd) * 12)) {
    seen.add(ifd); // a chain that loops back is read once
    let width = 0;
    let height = 0;
    for (let i = 0, entries = u16(ifd); i < entries; i++) {
      const entry = ifd + 2 + i * 12;
      const tag = u16(entry);
      if (tag !== 256 && tag !== 257) continue;
      const value = u16(entry + 2) === 3 ? u16(entry + 8) : u32(entry + 8); // SHORT or LONG
      if (tag === 256) width = value;
      else height = value;
    }
    extents.push({ width, height, part: `page ${extents.length + 1}` });
  }
};
