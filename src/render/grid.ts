// Grids of small tiles (activation maps, filters) as one RGBA image, each tile with its index drawn
// above it in a tiny built-in bitmap font, so a PNG from the CLI says which channel is which without
// any font library (bitmapFont.ts, shared with the compare grid). Tiles are scaled up by whole pixels (nearest neighbour): a 3×3 kernel or an 8×8
// map is shown as the blocks it really is, never smoothed into something it is not.
import type { RgbaImage } from '../shared/types';
import { GLYPH_HEIGHT, drawText, textWidth } from './bitmapFont';

export interface GridTile {
  /** Drawn above the tile (bitmapFont.ts glyphs). */
  label: string;
  width: number;
  height: number;
  /** 1: bytes looked up in the LUT; 3: RGB bytes drawn as they are. */
  channels: 1 | 3;
  data: Uint8Array;
}

export interface GridOptions {
  /** 256 RGB triples for 1-channel tiles. */
  lut: Uint8Array;
  /** Tiles per row (default: about square, at most `maxWidth` wide). */
  columns?: number;
  /** Aim for tiles about this many pixels on their longer side (default 64). */
  tileTarget?: number;
  maxWidth?: number;
}

const BACKGROUND = [30, 30, 30];
const LABEL: [number, number, number] = [204, 204, 204];
const GAP = 6;
const FONT_SCALE = 2;
const LABEL_H = GLYPH_HEIGHT * FONT_SCALE + 4;

export function labelWidth(label: string, scale = FONT_SCALE): number {
  return textWidth(label, scale);
}

export function renderGrid(tiles: readonly GridTile[], options: GridOptions): RgbaImage {
  const tileW = Math.max(1, ...tiles.map((t) => t.width));
  const tileH = Math.max(1, ...tiles.map((t) => t.height));
  const scale = Math.max(1, Math.floor((options.tileTarget ?? 64) / Math.max(tileW, tileH)));
  const widestLabel = Math.max(0, ...tiles.map((t) => labelWidth(t.label)));
  const cellW = Math.max(tileW * scale, widestLabel);
  const cellH = LABEL_H + tileH * scale;
  const maxWidth = options.maxWidth ?? 1600;
  const fit = Math.max(1, Math.floor((maxWidth - GAP) / (cellW + GAP)));
  const columns = Math.max(1, Math.min(options.columns ?? Math.ceil(Math.sqrt(tiles.length)), fit, tiles.length || 1));
  const rows = Math.max(1, Math.ceil(tiles.length / columns));
  const width = GAP + columns * (cellW + GAP);
  const height = GAP + rows * (cellH + GAP);
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data.set(BACKGROUND, i * 4);
    data[i * 4 + 3] = 255;
  }
  const image = { width, height, data };
  tiles.forEach((tile, index) => {
    const left = GAP + (index % columns) * (cellW + GAP);
    const top = GAP + Math.floor(index / columns) * (cellH + GAP);
    drawLabel(image, tile.label, left, top + 1);
    drawTile(image, tile, options.lut, left, top + LABEL_H, scale);
  });
  return image;
}

function drawTile(image: RgbaImage, tile: GridTile, lut: Uint8Array, left: number, top: number, scale: number): void {
  if (tile.data.length !== tile.width * tile.height * tile.channels) {
    throw new Error(`Tile "${tile.label}": ${tile.data.length} bytes do not make ${tile.width}×${tile.height}×${tile.channels}.`);
  }
  for (let y = 0; y < tile.height * scale; y++) {
    for (let x = 0; x < tile.width * scale; x++) {
      const p = Math.floor(y / scale) * tile.width + Math.floor(x / scale);
      const o = ((top + y) * image.width + left + x) * 4;
      if (tile.channels === 3) {
        image.data[o] = tile.data[p * 3];
        image.data[o + 1] = tile.data[p * 3 + 1];
        image.data[o + 2] = tile.data[p * 3 + 2];
      } else {
        const entry = tile.data[p] * 3;
        image.data[o] = lut[entry];
        image.data[o + 1] = lut[entry + 1];
        image.data[o + 2] = lut[entry + 2];
      }
    }
  }
}

function drawLabel(image: RgbaImage, label: string, left: number, top: number): void {
  drawText(image, label, left, top, LABEL, FONT_SCALE);
}

export interface BarEntry {
  /** Drawn left of the bar (bitmapFont.ts glyphs). */
  label: string;
  value: number;
}

const BAR_HEIGHT = 10;
const ROW_HEIGHT = 16;
const BAR_WIDTH = 320;

/**
 * A horizontal bar chart, one row per entry in the given order (the CLI's picture of a 2-D layer's
 * units, top first): the label, a bar of length |value| / max|value| from the zero axis (negative
 * values to its left when there are any), coloured through the LUT by the value's place between the
 * smallest and largest, and the value itself.
 */
export function renderBars(entries: readonly BarEntry[], lut: Uint8Array): RgbaImage {
  const labelW = Math.max(0, ...entries.map((e) => labelWidth(e.label)));
  const texts = entries.map((e) => formatBarValue(e.value));
  const valueW = Math.max(0, ...texts.map((t) => labelWidth(t)));
  const low = Math.min(0, ...entries.map((e) => e.value));
  const high = Math.max(0, ...entries.map((e) => e.value));
  const extent = Math.max(Math.abs(low), Math.abs(high)) || 1;
  const negative = low < 0 ? Math.round((BAR_WIDTH * Math.abs(low)) / (Math.abs(low) + high || 1)) : 0;
  const axis = GAP + labelW + GAP + negative;
  const width = GAP + labelW + GAP + BAR_WIDTH + GAP + valueW + GAP;
  const height = GAP + entries.length * ROW_HEIGHT + GAP;
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data.set(BACKGROUND, i * 4);
    data[i * 4 + 3] = 255;
  }
  const image = { width, height, data };
  const scale = (BAR_WIDTH - negative) / extent;
  const span = high - low || 1;
  entries.forEach((entry, row) => {
    const top = GAP + row * ROW_HEIGHT;
    drawLabel(image, entry.label, GAP + labelW - labelWidth(entry.label), top + 2);
    const length = Math.round(Math.abs(entry.value) * (entry.value < 0 ? negative / (Math.abs(low) || 1) : scale));
    const x0 = entry.value < 0 ? axis - length : axis;
    const entryIndex = Math.round(((entry.value - low) / span) * 255) * 3;
    const colour = [lut[entryIndex], lut[entryIndex + 1], lut[entryIndex + 2]];
    for (let y = top + 2; y < top + 2 + BAR_HEIGHT; y++) {
      for (let x = x0; x < x0 + length; x++) {
        image.data.set(colour, (y * width + x) * 4);
      }
      image.data.set(LABEL, (y * width + axis) * 4); // the zero axis
    }
    drawLabel(image, texts[row], GAP + labelW + GAP + BAR_WIDTH + GAP, top + 2);
  });
  return image;
}

/** Four significant digits in the digits-only font (no exponent letters: tiny values print as 0). */
function formatBarValue(value: number): string {
  if (Math.abs(value) < 5e-5) {
    return '0';
  }
  const text = value.toFixed(Math.max(0, 3 - Math.floor(Math.log10(Math.abs(value)))));
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}
