// The image size limit as users set it, in megapixels: the "cnnLens.maxImageMegapixels" setting and
// the CLI's --max-image-megapixels share its default and range; the engine counts pixels
// (src/engine/limits.ts says what the default is measured from).

/** 24 megapixels: a 6000×4000 photo; a whole Grad-CAM of one peaks near 1.1 GB (README, "Limits and safety"). */
export const DEFAULT_MAX_IMAGE_MEGAPIXELS = 24;
/**
 * The most a user may allow: preparing an image costs about 40 bytes a pixel, so 200 megapixels is
 * already 8 GB; above that a typo would be an out-of-memory end of the engine instead of a refusal.
 */
export const MAX_IMAGE_MEGAPIXELS = 200;

/** Megapixels (a setting, a flag) as the engine's pixel count. */
export function megapixelsToPixels(megapixels: number): number {
  return Math.max(1, Math.floor(megapixels * 1e6));
}
