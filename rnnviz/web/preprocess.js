// Canvas pixels -> the 28x28 image the network reads, in the visitor's browser: a mirror of rnnviz/preprocess.py,
// step for step and rounding for rounding, so that the page and the server see one drawing as one image.
// tests/web/preprocess.test.mjs holds it to the Python on real drawings (fixtures from tests/web_fixtures.py).
//
// As MNIST was made: crop to the ink, redraw the strokes as wide as MNIST's pen (at WORK_BOX resolution), scale
// the longer side to BOX px, put the centre of mass at the centre. An image here is {pixels, height, width}:
// a typed array, row-major. Each numpy float32 operation is a Math.fround here (or a store into a Float32Array).

// The numbers' home is rnnviz/preprocess.py (ROWS and COLS: rnnviz/config.py, via config.js); the test checks each.
import { COLS, ROWS } from './config.js';

export const BOX = 20;  // the digit's longer side after scaling, px (as in MNIST)
export const CENTRE = 14.0;  // where MNIST puts the centre of mass (row, col)
export const STROKE_WIDTH = 2.0;  // stroke width after scaling to the BOX, px (MNIST's median)
export const WORK_BOX = 80;  // resolution at which strokes are thinned and redrawn
export const MAX_SIDE = 8192;  // larger canvases are refused
export const INK_LEVEL = 0.25;  // a pixel brighter than this is ink
export const MIN_EXTENT = 3;  // a drawing smaller than this (px, longer side) is a speck, not a digit

const f32 = Math.fround;

function emptyCanvas(message) {  // what EmptyCanvasError says: nothing to read yet, not a fault
  const error = new Error(message);
  error.empty = true;
  return error;
}

export function inkFromPixels(rgba, width, height) {  // canvas RGBA (not premultiplied) -> ink in [0, 1], Float32Array
  if (width === 0 || height === 0) throw emptyCanvas('the canvas has no pixels');
  if (Math.max(width, height) > MAX_SIDE) {
    throw new Error(`canvas ${height}x${width} is too large (max ${MAX_SIDE} px a side)`);
  }
  if (rgba.length !== width * height * 4) throw new Error(`${rgba.length} bytes are not ${width}x${height} RGBA`);
  const ink = new Float32Array(width * height);
  for (let i = 0, p = 0; i < ink.length; i++, p += 4) {  // white ink on black: brightness times alpha
    const brightness = f32(f32(rgba[p] + rgba[p + 1] + rgba[p + 2]) / 765);
    const value = f32(brightness * f32(rgba[p + 3] / 255));
    ink[i] = value < 0 ? 0 : value > 1 ? 1 : value;
  }
  return ink;
}

export function preprocess(ink, width, height) {  // ink (as inkFromPixels gives) -> the 28x28 image, Float32Array(784)
  if (ink.length !== width * height) throw new Error(`${ink.length} values are not ${width}x${height} ink`);
  const strokes = normalizeStrokes(cropToInk({ pixels: ink, height, width }));
  const digit = fit(strokes, BOX);
  toFullInk(digit.pixels);
  return centreByMass(digit);
}

// Cropping and scaling

export function inkBox({ pixels, height, width }) {
  // the box of the pixels above INK_LEVEL: {top, left, bottom, right} (the last row and column inside), or null
  let top = height, bottom = -1, left = width, right = -1;
  for (let row = 0; row < height; row++) {
    for (let col = 0, i = row * width; col < width; col++, i++) {
      if (pixels[i] > INK_LEVEL) {
        if (top > row) top = row;
        bottom = row;
        if (left > col) left = col;
        if (right < col) right = col;
      }
    }
  }
  return bottom < 0 ? null : { top, left, bottom, right };
}

export function cropToInk(image) {  // the image cut to the box of its pixels above INK_LEVEL, as float32
  const { pixels, width } = image, box = inkBox(image);
  if (!box) throw emptyCanvas('the canvas is empty: draw a digit first');
  const { top, left, bottom, right } = box;
  if (Math.max(bottom - top, right - left) + 1 < MIN_EXTENT) {
    throw emptyCanvas('the drawing is only a dot: draw a larger digit');
  }
  const cropped = { pixels: new Float32Array((bottom - top + 1) * (right - left + 1)),
    height: bottom - top + 1, width: right - left + 1, top, left };
  for (let row = 0; row < cropped.height; row++) {
    const from = (top + row) * width + left;
    cropped.pixels.set(pixels.subarray(from, from + cropped.width), row * cropped.width);
  }
  return cropped;
}

export function roundHalfEven(x) {  // Python's round(): halves go to the even neighbour
  const floor = Math.floor(x), rest = x - floor;
  if (rest !== 0.5) return rest < 0.5 ? floor : floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

export function fit(image, box) {  // resized so that its longer side is `box` px, keeping the aspect ratio
  const scale = box / Math.max(image.height, image.width);
  const height = Math.max(1, roundHalfEven(image.height * scale));
  const width = Math.max(1, roundHalfEven(image.width * scale));
  return { pixels: resizeBox(image.pixels, image.height, image.width, height, width), height, width };
}

function boxWeights(inSize, outSize) {  // Pillow's precompute_coeffs for the box filter: each output's inputs
  const scale = inSize / outSize, filterScale = Math.max(scale, 1.0);
  const support = 0.5 * filterScale, inverse = 1.0 / filterScale, size = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize), count = new Int32Array(outSize), weights = new Float64Array(outSize * size);
  for (let out = 0; out < outSize; out++) {
    const centre = (out + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(centre - support + 0.5));
    const n = Math.min(inSize, Math.trunc(centre + support + 0.5)) - lo;
    let total = 0.0;
    for (let x = 0; x < n; x++) {  // the box filter: 1 on (-0.5, 0.5], else 0
      const at = (x + lo - centre + 0.5) * inverse;
      const weight = at > -0.5 && at <= 0.5 ? 1.0 : 0.0;
      weights[out * size + x] = weight;
      total += weight;
    }
    if (total !== 0.0) for (let x = 0; x < n; x++) weights[out * size + x] /= total;
    first[out] = lo; count[out] = n;
  }
  return { first, count, weights, size };
}

export function resizeBox(pixels, height, width, outHeight, outWidth) {  // PIL's resize(BOX) of a mode "F" image
  if (outHeight === height && outWidth === width) return Float32Array.from(pixels);
  const down = boxWeights(height, outHeight), across = boxWeights(width, outWidth);
  if (height - outHeight > (width - outWidth) * 2) {  // Pillow >= 13: vertical first if it shrinks far more
    const rows = outHeight === height ? pixels : resizeColumns(pixels, width, down, 0, outHeight);
    return outWidth === width ? rows : resizeRows(rows, width, across, 0, outHeight, outWidth);
  }
  if (outWidth === width) return resizeColumns(pixels, width, down, 0, outHeight);
  const firstRow = down.first[0], lastRow = down.first[outHeight - 1] + down.count[outHeight - 1];
  const rows = resizeRows(pixels, width, across, firstRow, lastRow - firstRow, outWidth);  // only the rows needed
  return outHeight === height ? rows : resizeColumns(rows, outWidth, down, firstRow, outHeight);
}

function resizeRows(pixels, width, across, firstRow, rowCount, outWidth) {  // the horizontal pass over rowCount rows
  const { first, count, weights, size } = across, out = new Float32Array(rowCount * outWidth);
  for (let row = 0; row < rowCount; row++) {
    const line = (firstRow + row) * width;
    for (let col = 0; col < outWidth; col++) {
      let sum = 0.0;  // a double, as Pillow's; stored as float32
      const at = line + first[col], k = col * size;
      for (let x = 0; x < count[col]; x++) sum += pixels[at + x] * weights[k + x];
      out[row * outWidth + col] = sum;
    }
  }
  return out;
}

function resizeColumns(pixels, width, down, firstRow, outHeight) {  // the vertical pass; pixels start at firstRow
  const { first, count, weights, size } = down, out = new Float32Array(outHeight * width);
  for (let row = 0; row < outHeight; row++) {
    const top = (first[row] - firstRow) * width, k = row * size;
    for (let col = 0; col < width; col++) {
      let sum = 0.0;
      for (let y = 0; y < count[row]; y++) sum += pixels[top + y * width + col] * weights[k + y];
      out[row * width + col] = sum;
    }
  }
  return out;
}

function toFullInk(pixels) {  // clipped to [0, 1], then divided by its largest value (full-strength ink, as in MNIST)
  let largest = 0;
  for (let i = 0; i < pixels.length; i++) {
    const value = pixels[i] < 0 ? 0 : pixels[i] > 1 ? 1 : pixels[i];
    pixels[i] = value;
    if (largest < value) largest = value;
  }
  const divisor = f32(Math.max(largest, 1e-6));
  for (let i = 0; i < pixels.length; i++) pixels[i] = pixels[i] / divisor;
}

// Strokes as wide as MNIST's

// At WORK_BOX resolution, the brush width is measured (twice the median distance from the strokes' centre lines to
// their edges) and every edge moved in or out by half the difference to the target, by the signed distance to it.
export function normalizeStrokes(image) {  // strokes redrawn STROKE_WIDTH wide (at BOX scale), cropped again
  const target = STROKE_WIDTH * WORK_BOX / BOX;  // px at work resolution
  const mask = paddedMask(fit(image, WORK_BOX), Math.floor(WORK_BOX / 4));
  const centreLines = skeletonize(mask.pixels, mask.height, mask.width);
  if (!centreLines.includes(1)) return image;  // faint ink below the threshold: kept as it is
  const inside = squaredDistances(mask.pixels, mask.height, mask.width, 0);  // to the background, inside the ink
  const outside = squaredDistances(mask.pixels, mask.height, mask.width, 1);  // to the ink, outside it
  const strokeWidth = 2 * medianDistance(inside, centreLines);
  const shift = (strokeWidth - target) / 2, redrawn = new Float64Array(inside.length);
  for (let i = 0; i < redrawn.length; i++) {  // the signed distance to the edge, moved by shift: a soft edge
    const value = Math.sqrt(inside[i]) - Math.sqrt(outside[i]) - shift + 0.5;
    redrawn[i] = value < 0 ? 0 : value > 1 ? 1 : value;
  }
  return { ...cropToInk({ pixels: redrawn, height: mask.height, width: mask.width }), strokeWidth };  // as measured
}

function paddedMask(image, pad) {  // 1 where the image is above 0.5, with `pad` px of 0 all round
  const height = image.height + 2 * pad, width = image.width + 2 * pad, pixels = new Uint8Array(height * width);
  for (let row = 0; row < image.height; row++) {
    for (let col = 0; col < image.width; col++) {
      pixels[(row + pad) * width + col + pad] = image.pixels[row * image.width + col] > 0.5 ? 1 : 0;
    }
  }
  return { pixels, height, width };
}

function medianDistance(squared, where) {  // np.median of the distances (square roots) where `where` is 1
  let count = 0;
  for (let i = 0; i < where.length; i++) count += where[i];
  const sorted = new Float64Array(count);
  for (let i = 0, n = 0; i < where.length; i++) if (where[i]) sorted[n++] = squared[i];
  sorted.sort();  // squares sort as their roots do
  const middle = count >> 1;
  if (count % 2) return Math.sqrt(sorted[middle]);
  return (Math.sqrt(sorted[middle - 1]) + Math.sqrt(sorted[middle])) / 2;
}

// Thinning: scikit-image's skeletonize for 2D images (Zhang and Suen, 1984), as its _fast_skeletonize does it

// For each pattern of the 8 neighbours (bits: 1 top-left, 2 top, 4 top-right, 8 right, 16 bottom-right, 32 bottom,
// 64 bottom-left, 128 left), whether a pixel goes: 1 in the first pass, 2 in the second, 3 in both, 0 never.
// Copied from scikit-image 0.26's skimage/morphology/_skeletonize_various_cy.pyx.
const THINNING = Uint8Array.from([
  0, 0, 0, 1, 0, 0, 1, 3, 0, 0, 3, 1, 1, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 3, 0, 3, 3,
  0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 2, 2,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 2, 0,
  0, 0, 3, 1, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
  3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  2, 3, 1, 3, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  2, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, 1, 0, 0, 0, 0, 2, 2, 0, 0, 2, 0, 0, 0,
]);

export function skeletonize(mask, height, width) {  // mask (1 = ink) -> its one-pixel-wide centre lines
  const w = width + 2, skeleton = new Uint8Array((height + 2) * w);  // a border of 0 all round
  for (let row = 0; row < height; row++) {
    skeleton.set(mask.subarray(row * width, (row + 1) * width), (row + 1) * w + 1);
  }
  const thinned = skeleton.slice();
  for (let removed = true; removed;) {
    removed = thinningPass(skeleton, thinned, height, w, 1);
    removed = thinningPass(skeleton, thinned, height, w, 2) || removed;
  }
  const out = new Uint8Array(height * width);
  for (let row = 0; row < height; row++) {
    const from = (row + 1) * w + 1;
    out.set(skeleton.subarray(from, from + width), row * width);
  }
  return out;
}

function thinningPass(skeleton, thinned, height, w, pass) {  // removes, all at once, the pixels this pass may remove
  let removed = false;
  for (let row = 1; row <= height; row++) {
    for (let i = row * w + 1, end = row * w + w - 1; i < end; i++) {
      if (!skeleton[i]) continue;
      const pattern = skeleton[i - w - 1] | skeleton[i - w] << 1 | skeleton[i - w + 1] << 2 | skeleton[i + 1] << 3
        | skeleton[i + w + 1] << 4 | skeleton[i + w] << 5 | skeleton[i + w - 1] << 6 | skeleton[i - 1] << 7;
      if (THINNING[pattern] & pass) {
        thinned[i] = 0;
        removed = true;
      }
    }
  }
  skeleton.set(thinned);
  return removed;
}

// Exact Euclidean distances (as scipy.ndimage.distance_transform_edt's), squared: integers, exact in float64

export function squaredDistances(mask, height, width, value) {  // to the nearest pixel whose mask is `value`
  const out = new Float64Array(height * width);
  for (let col = 0; col < width; col++) {  // down each column: 1D distances, squared (Infinity: none there)
    let last = -Infinity;
    for (let row = 0; row < height; row++) {
      if (mask[row * width + col] === value) last = row;
      out[row * width + col] = row - last;
    }
    last = Infinity;
    for (let row = height - 1; row >= 0; row--) {
      if (mask[row * width + col] === value) last = row;
      const i = row * width + col, nearest = Math.min(out[i], last - row);
      out[i] = nearest * nearest;
    }
  }
  const envelope = new Int32Array(width), bounds = new Float64Array(width + 1), line = new Float64Array(width);
  for (let row = 0; row < height; row++) {
    line.set(out.subarray(row * width, (row + 1) * width));
    lowerEnvelope(line, out.subarray(row * width, (row + 1) * width), envelope, bounds);
  }
  return out;
}

function lowerEnvelope(f, out, envelope, bounds) {  // out[q] = min over p of (q - p)^2 + f[p]: Felzenszwalb's
  let k = -1;
  for (let q = 0; q < f.length; q++) {  // the parabolas that form the lower envelope, and where each takes over
    if (f[q] === Infinity) continue;
    let from = -Infinity;
    while (k >= 0) {
      const p = envelope[k];
      from = (f[q] + q * q - (f[p] + p * p)) / (2 * q - 2 * p);
      if (from > bounds[k]) break;
      k--;
    }
    k++;
    envelope[k] = q; bounds[k] = k === 0 ? -Infinity : from; bounds[k + 1] = Infinity;
  }
  if (k < 0) return;  // none in this row or its columns: stays Infinity
  for (let q = 0, at = 0; q < f.length; q++) {
    while (bounds[at + 1] < q) at++;
    const p = envelope[at];
    out[q] = (q - p) * (q - p) + f[p];
  }
}

// Centring

function pairwiseSum(values, from, n, round) {  // numpy's sum: pairwise, 8 accumulators, blocks of 128
  if (n < 8) {
    let sum = 0;
    for (let i = from; i < from + n; i++) sum = round(sum + values[i]);
    return sum;
  }
  if (n <= 128) {
    const r = [values[from], values[from + 1], values[from + 2], values[from + 3],
      values[from + 4], values[from + 5], values[from + 6], values[from + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = round(r[j] + values[from + i + j]);
    let sum = round(round(round(r[0] + r[1]) + round(r[2] + r[3])) + round(round(r[4] + r[5]) + round(r[6] + r[7])));
    for (; i < n; i++) sum = round(sum + values[from + i]);
    return sum;
  }
  const half = (n >> 1) - ((n >> 1) % 8);
  return round(pairwiseSum(values, from, half, round) + pairwiseSum(values, from + half, n - half, round));
}

const f64 = x => x;  // float64 sums: JS's own rounding

export function centreByMass(digit) {  // in a ROWS x COLS field with its centre of mass at (CENTRE, CENTRE)
  const { pixels, height, width } = digit, weighted = new Float64Array(pixels.length);
  const mass = pairwiseSum(pixels, 0, pixels.length, f32);  // float32, as numpy sums a float32 image
  for (let i = 0; i < pixels.length; i++) weighted[i] = pixels[i] * Math.floor(i / width);
  const massRow = pairwiseSum(weighted, 0, pixels.length, f64) / mass;
  for (let i = 0; i < pixels.length; i++) weighted[i] = pixels[i] * (i % width);
  const massCol = pairwiseSum(weighted, 0, pixels.length, f64) / mass;
  const top = Math.min(Math.max(roundHalfEven(CENTRE - massRow), 0), ROWS - height);
  const left = Math.min(Math.max(roundHalfEven(CENTRE - massCol), 0), COLS - width);
  const field = new Float32Array(ROWS * COLS);
  for (let row = 0; row < height; row++) {
    field.set(pixels.subarray(row * width, (row + 1) * width), (top + row) * COLS + left);
  }
  return field;
}
