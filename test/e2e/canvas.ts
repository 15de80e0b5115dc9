// Reads a canvas's pixels inside a webview frame and summarises them, so a test can tell a real
// heatmap from a blank or single-colour canvas.
import type { Frame } from 'playwright-core';
import type { BrowserGlobals, DomCanvas } from './dom';

export interface CanvasStats {
  width: number;
  height: number;
  /** Distinct RGBA values among the pixels (capped at 4096; enough to tell "uniform" apart). */
  distinctColors: number;
  /** max - min of Rec.601 luma over opaque pixels, 0..255. */
  lumaRange: number;
  /** Share of pixels with alpha > 0. */
  opaqueFraction: number;
}

export async function readCanvasStats(frame: Frame, selector: string): Promise<CanvasStats> {
  const stats = await frame.evaluate((sel) => {
    const { document } = globalThis as unknown as BrowserGlobals;
    const element = document.querySelector(sel);
    if (!element || element.tagName !== 'CANVAS') {
      return { error: `${sel} is not a canvas element (found ${element ? element.tagName : 'nothing'})` };
    }
    const canvas = element as DomCanvas;
    const { width, height } = canvas;
    if (width === 0 || height === 0) {
      return { width, height, distinctColors: 0, lumaRange: 0, opaqueFraction: 0 };
    }
    // Copy onto a fresh 2d canvas: works whatever context the panel drew with (2d, bitmaprenderer,
    // webgl), where calling getContext('2d') on the original could return null.
    const copy = document.createElement('canvas');
    copy.width = width;
    copy.height = height;
    const context = copy.getContext('2d');
    if (!context) {
      return { error: 'no 2d context available in the webview' };
    }
    context.drawImage(canvas, 0, 0);
    const data = context.getImageData(0, 0, width, height).data;
    const colors = new Set<number>();
    let minLuma = 255;
    let maxLuma = 0;
    let opaque = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (colors.size < 4096) {
        colors.add(((data[i] << 24) | (data[i + 1] << 16) | (data[i + 2] << 8) | data[i + 3]) >>> 0);
      }
      if (data[i + 3] > 0) {
        opaque++;
        const luma = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
        minLuma = Math.min(minLuma, luma);
        maxLuma = Math.max(maxLuma, luma);
      }
    }
    return {
      width,
      height,
      distinctColors: colors.size,
      lumaRange: opaque > 0 ? maxLuma - minLuma : 0,
      opaqueFraction: opaque / (width * height),
    };
  }, selector);
  if ('error' in stats) {
    throw new Error(stats.error);
  }
  return stats;
}

/** A canvas's RGBA pixels as the page drew them (copied onto a fresh 2d canvas, as readCanvasStats does). */
export async function readCanvasPixels(frame: Frame, selector: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  const read = await frame.evaluate((sel) => {
    const { document } = globalThis as unknown as BrowserGlobals;
    const element = document.querySelector(sel);
    if (!element || element.tagName !== 'CANVAS') {
      return { error: `${sel} is not a canvas element (found ${element ? element.tagName : 'nothing'})` };
    }
    const canvas = element as DomCanvas;
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const context = copy.getContext('2d');
    if (!context) {
      return { error: 'no 2d context available in the webview' };
    }
    context.drawImage(canvas, 0, 0);
    return { width: canvas.width, height: canvas.height, data: Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data) };
  }, selector);
  if ('error' in read) {
    throw new Error(read.error);
  }
  return { width: read.width, height: read.height, data: Uint8Array.from(read.data) };
}
