// The comparison grid the CLI writes (`cnn-lens compare`): the original image and each method's
// overlay as tiles of one size, each captioned with its lines (method, time, metrics), on a dark
// background. Plain RGBA arithmetic, no tfjs.
import { shortenLayerName } from '../shared/layerNames';
import type { RgbaImage } from '../shared/types';
import { GLYPH_HEIGHT, drawText, textWidth } from './bitmapFont';

/**
 * A caption line: plain text, cut at its end if it must be; or text ending in a layer name, whose
 * name is shortened from the left (layerNames.ts) so its distinctive end stays ("…/conv4/Relu"
 * rather than "StatefulPartitionedC.."); the full name is in the CLI's JSON.
 */
export type CaptionLine = string | { readonly text: string; readonly name: string };

export interface CompareTile {
  image: RgbaImage;
  /** First line bold-ish (drawn larger), the others small. */
  lines: CaptionLine[];
}

const BACKGROUND: [number, number, number] = [30, 30, 30];
const TITLE: [number, number, number] = [240, 240, 240];
const TEXT: [number, number, number] = [185, 185, 185];
const GAP = 12;

/** Nearest-neighbour scaling to `side` on the longer edge: small model inputs stay crisp when enlarged. */
export function scaleToFit(image: RgbaImage, side: number): RgbaImage {
  const factor = side / Math.max(image.width, image.height);
  const width = Math.max(1, Math.round(image.width * factor));
  const height = Math.max(1, Math.round(image.height * factor));
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(image.height - 1, Math.floor(y / factor));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(image.width - 1, Math.floor(x / factor));
      data.set(image.data.subarray((sy * image.width + sx) * 4, (sy * image.width + sx) * 4 + 4), (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

export function renderCompareGrid(tiles: readonly CompareTile[], options: { columns?: number; tileSize?: number } = {}): RgbaImage {
  const tileSize = options.tileSize ?? 192;
  const columns = Math.max(1, Math.min(options.columns ?? 4, tiles.length));
  const rows = Math.ceil(tiles.length / columns);
  const titleScale = 2;
  const textScale = 1;
  const maxLines = Math.max(1, ...tiles.map((t) => t.lines.length));
  const captionHeight = GLYPH_HEIGHT * titleScale + 6 + (maxLines - 1) * (GLYPH_HEIGHT * textScale + 5) + 4;
  const cellWidth = tileSize + GAP;
  const cellHeight = tileSize + captionHeight + GAP;
  const width = columns * cellWidth + GAP;
  const height = rows * cellHeight + GAP;
  const grid: RgbaImage = { width, height, data: new Uint8Array(width * height * 4) };
  for (let i = 0; i < width * height; i++) {
    grid.data.set([...BACKGROUND, 255], i * 4);
  }
  tiles.forEach((tile, index) => {
    const left = GAP + (index % columns) * cellWidth;
    const top = GAP + Math.floor(index / columns) * cellHeight;
    const scaled = scaleToFit(tile.image, tileSize);
    const offsetX = left + Math.floor((tileSize - scaled.width) / 2);
    const offsetY = top + Math.floor((tileSize - scaled.height) / 2);
    for (let y = 0; y < scaled.height; y++) {
      grid.data.set(scaled.data.subarray(y * scaled.width * 4, (y + 1) * scaled.width * 4), ((offsetY + y) * width + offsetX) * 4);
    }
    let y = top + tileSize + 6;
    tile.lines.forEach((line, n) => {
      const scale = n === 0 ? titleScale : textScale;
      const fitted = fitLine(line, tileSize, scale);
      drawText(grid, fitted, left, y, n === 0 ? TITLE : TEXT, scale);
      y += GLYPH_HEIGHT * scale + (n === 0 ? 6 : 5);
    });
  });
  return grid;
}

/** A caption line in the tile's width: a layer name shortened from the left, other text cut at its end. */
function fitLine(line: CaptionLine, width: number, scale: number): string {
  if (typeof line === 'string') {
    return fitText(line, width, scale);
  }
  for (let max = Array.from(line.name).length; max >= 2; max--) {
    const text = line.text + shortenLayerName(line.name, max);
    if (textWidth(text, scale) <= width) {
      return text;
    }
  }
  return fitText(line.text + shortenLayerName(line.name, 2), width, scale);
}

/** Cuts a line to the tile's width with a trailing '.' rather than letting it run into the next tile. */
function fitText(text: string, width: number, scale: number): string {
  if (textWidth(text, scale) <= width) {
    return text;
  }
  let cut = text;
  while (cut.length > 1 && textWidth(cut + '..', scale) > width) {
    cut = cut.slice(0, -1);
  }
  return cut + '..';
}
