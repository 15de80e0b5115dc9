// Colourises a [0,1] map with one of the fixed colormaps. The lookup tables are generated from
// OpenCV and matplotlib (scripts/generate-colormaps.py), so a CNN Lens heatmap has the same colours
// as pytorch-grad-cam's show_cam_on_image, which applies cv2.applyColorMap to np.uint8(255 * mask).
import type { ColormapName, Map2D, RgbaImage } from '../shared/types';
import { COLORMAPS } from '../shared/types';
import { COLORMAP_TABLES } from './colormapTables';
import { DIVERGING_COLORMAP_TABLES } from './divergingColormapTables';

/** The colormap's 256 RGB triples (768 bytes), index 0 for value 0. Shared: do not modify. */
export function colormapLut(name: ColormapName): Uint8Array {
  const table = COLORMAP_TABLES[name];
  if (!table) {
    throw new Error(`Unknown colormap "${String(name)}": use one of ${COLORMAPS.join(', ')}.`);
  }
  return table;
}

/**
 * The table index for a value: floor(255 * v) like np.uint8(255 * mask) in pytorch-grad-cam (a cast
 * truncates), after clamping to [0,1]; NaN maps to 0 so a degenerate map never yields garbage.
 */
export function colormapIndex(value: number): number {
  if (!(value > 0)) {
    return 0;
  }
  if (value >= 1) {
    return 255;
  }
  return Math.floor(255 * value);
}

/** An opaque RGBA image of the map's size, each value coloured through the named colormap. */
export function applyColormap(map: Map2D, name: ColormapName): RgbaImage {
  const lut = colormapLut(name);
  const count = map.width * map.height;
  if (map.data.length !== count) {
    throw new Error(`Map data holds ${map.data.length} values but its size is ${map.width}x${map.height}.`);
  }
  const data = new Uint8Array(count * 4);
  for (let i = 0; i < count; i++) {
    const entry = colormapIndex(map.data[i]) * 3;
    data[i * 4] = lut[entry];
    data[i * 4 + 1] = lut[entry + 1];
    data[i * 4 + 2] = lut[entry + 2];
    data[i * 4 + 3] = 255;
  }
  return { width: map.width, height: map.height, data };
}

// ---------------------------------------------------------------------------------------------
// Diverging colormaps, for signed values quantised with 128 as zero (filter weights).

export const DIVERGING_COLORMAPS = ['coolwarm'] as const;
export type DivergingColormapName = (typeof DIVERGING_COLORMAPS)[number];

/** The diverging colormap's 256 RGB triples, index 128 for zero. Shared: do not modify. */
export function divergingLut(name: DivergingColormapName = 'coolwarm'): Uint8Array {
  const table = DIVERGING_COLORMAP_TABLES[name];
  if (!table) {
    throw new Error(`Unknown diverging colormap "${String(name)}": use one of ${DIVERGING_COLORMAPS.join(', ')}.`);
  }
  return table;
}
