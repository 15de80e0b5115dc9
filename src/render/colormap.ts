// Colourises a [0,1] map with one of the fixed colormaps. The lookup tables are generated from
// OpenCV and matplotlib (scripts/generate-colormaps.py), so a CNN Lens heatmap has the same colours
// as pytorch-grad-cam's show_cam_on_image, which applies cv2.applyColorMap to np.uint8(255 * mask).
import type { ColormapName, Map2D, RgbaImage } from '../shared/types';
import { COLORMAPS } from '../shared/types';
import { COLORMAP_TABLES } from './colormapTables';
import { DIVERGING_COLORMAP_TABLES } from './divergingColormapTables';
import { colorIndexed, quantizeUnitMap } from './indexed';

export { colormapIndex } from './indexed';

/** The colormap's 256 RGB triples (768 bytes), index 0 for value 0. Shared: do not modify. */
export function colormapLut(name: ColormapName): Uint8Array {
  const table = COLORMAP_TABLES[name];
  if (!table) {
    throw new Error(`Unknown colormap "${String(name)}": use one of ${COLORMAPS.join(', ')}.`);
  }
  return table;
}

/** An opaque RGBA image of the map's size, each value coloured through the named colormap. */
export function applyColormap(map: Map2D, name: ColormapName): RgbaImage {
  const data = colorIndexed(quantizeUnitMap(map), colormapLut(name));
  return { width: map.width, height: map.height, data };
}

// ---------------------------------------------------------------------------------------------
// Diverging colormaps, for signed values quantised with 128 as zero (filter weights).

export const DIVERGING_COLORMAPS = ['coolwarm'] as const;
export type DivergingColormapName = (typeof DIVERGING_COLORMAPS)[number];

/** The panel's Activations tab colours maps with this (0 = the lowest value), its Filters tab weights with FILTER_COLORMAP (128 = zero). */
export const ACTIVATION_COLORMAP: ColormapName = 'viridis';
export const FILTER_COLORMAP: DivergingColormapName = 'coolwarm';

/** The diverging colormap's 256 RGB triples, index 128 for zero. Shared: do not modify. */
export function divergingLut(name: DivergingColormapName = 'coolwarm'): Uint8Array {
  const table = DIVERGING_COLORMAP_TABLES[name];
  if (!table) {
    throw new Error(`Unknown diverging colormap "${String(name)}": use one of ${DIVERGING_COLORMAPS.join(', ')}.`);
  }
  return table;
}
