// The browser's preprocessing (rnnviz/web/preprocess.js) against its reference, rnnviz/preprocess.py: the fixtures
// that tests/web_fixtures.py writes into the folder $RNNVIZ_FIXTURES (tests/test_web_preprocess.py runs this).
// By hand: python -m tests.web_fixtures /tmp/fixtures
//          RNNVIZ_FIXTURES=/tmp/fixtures node --test tests/web/preprocess.test.mjs

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import * as config from '../../rnnviz/web/config.js';
import * as web from '../../rnnviz/web/preprocess.js';

const IMAGE_TOLERANCE = 2 / 255;  // the most a pixel of the 28x28 image may differ
const INK_TOLERANCE = 1e-7;
const folder = process.env.RNNVIZ_FIXTURES;
const manifest = folder && JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
const skip = !folder && 'set RNNVIZ_FIXTURES to a folder that tests/web_fixtures.py wrote';

function read(name, type) {  // a fixture's array, as a typed array of `type`
  const bytes = gunzipSync(readFileSync(join(folder, name)));
  return new type(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

function differences(ours, theirs) {  // {largest: max abs difference, count: how many differ, at: where the largest is}
  assert.equal(ours.length, theirs.length);
  let largest = 0, count = 0, at = -1;
  for (let i = 0; i < ours.length; i++) {
    const difference = Math.abs(ours[i] - theirs[i]);
    if (difference > 0) count++;
    if (difference > largest) { largest = difference; at = i; }
  }
  return { largest, count, at };
}

test('the constants are the reference\'s', { skip }, () => {
  for (const [name, value] of Object.entries(manifest.constants)) assert.equal(web[name] ?? config[name], value, name);
});

test('ink is read from the pixels exactly as the reference reads it', { skip }, t => {
  let largest = 0, exact = 0;
  for (const drawing of manifest.drawings) {
    const ink = web.inkFromPixels(read(drawing.rgba, Uint8ClampedArray), drawing.width, drawing.height);
    const found = differences(ink, read(drawing.ink, Float32Array));
    assert.ok(found.largest <= INK_TOLERANCE, `${drawing.name}: ink differs by ${found.largest} at ${found.at}`);
    largest = Math.max(largest, found.largest);
    exact += found.count === 0;
  }
  t.diagnostic(`ink: ${exact} of ${manifest.drawings.length} drawings exact; largest difference ${largest}`);
});

test('drawings become the reference\'s 28x28 images', { skip }, t => {
  const drawings = manifest.drawings.filter(drawing => drawing.image);
  let largest = 0, exact = 0, worst = '';
  for (const drawing of drawings) {
    const ink = read(drawing.ink, Float32Array);
    const found = differences(web.preprocess(ink, drawing.width, drawing.height), read(drawing.image, Float32Array));
    assert.ok(found.largest <= IMAGE_TOLERANCE, `${drawing.name}: ${found.count} pixels differ, by at most `
      + `${found.largest} (at ${found.at}); the reference's steps: ${JSON.stringify(steps(drawing))}`);
    if (found.largest > largest) { largest = found.largest; worst = drawing.name; }
    exact += found.largest < 1e-6;
  }
  t.diagnostic(`images: ${exact} of ${drawings.length} drawings exact (< 1e-6); largest difference ${largest}`
    + (worst ? ` (${worst})` : ''));
});

function steps(drawing) {  // what the reference measured on the way
  const { crop, strokeWidth, redrawn, placed } = drawing;
  return { crop, strokeWidth, redrawn, placed };
}

test('each step measures what the reference measured', { skip }, () => {
  for (const drawing of manifest.drawings.filter(drawing => drawing.image)) {
    const cropped = web.cropToInk({ pixels: read(drawing.ink, Float32Array), height: drawing.height,
      width: drawing.width });
    assert.deepEqual([cropped.top, cropped.left, cropped.height, cropped.width], drawing.crop, drawing.name);
    const redrawn = web.normalizeStrokes(cropped);
    assert.equal(redrawn.strokeWidth ?? null, drawing.strokeWidth, `${drawing.name}: stroke width`);
    assert.deepEqual([redrawn.height, redrawn.width], drawing.redrawn, `${drawing.name}: redrawn size`);
  }
});

test('no digit, or only a speck, is refused as the reference refuses it', { skip }, () => {
  const refused = manifest.drawings.filter(drawing => drawing.error);
  assert.ok(refused.length >= 3);
  for (const drawing of refused) {
    const ink = web.inkFromPixels(read(drawing.rgba, Uint8ClampedArray), drawing.width, drawing.height);
    assert.throws(() => web.preprocess(ink, drawing.width, drawing.height),
      error => error.message === drawing.error && error.empty === true, drawing.name);
  }
});

test('resizing is PIL\'s BOX resize of a float image', { skip }, t => {
  let largest = 0;
  for (const { size, input, outSize, output } of manifest.resizes) {
    const ours = web.resizeBox(read(input, Float32Array), ...size, ...outSize);
    const found = differences(ours, read(output, Float32Array));
    assert.equal(found.count, 0, `${size} -> ${outSize}: ${found.count} pixels differ, by at most ${found.largest}`);
    largest = Math.max(largest, found.largest);
  }
  t.diagnostic(`resizes: ${manifest.resizes.length} sizes, largest difference ${largest}`);
});

test('thinning and distances are scikit-image\'s and scipy\'s', { skip }, () => {
  for (const { size: [height, width], mask: file, skeleton, inside, outside } of manifest.skeletons) {
    const mask = read(file, Uint8Array);
    assert.deepEqual(web.skeletonize(mask, height, width), read(skeleton, Uint8Array), `skeleton of ${file}`);
    for (const [value, distances] of [[0, inside], [1, outside]]) {
      const ours = web.squaredDistances(mask, height, width, value).map(Math.sqrt);
      assert.deepEqual(ours, read(distances, Float64Array), `distances to ${value} in ${file}`);
    }
  }
});

test('a digit is centred by its mass as the reference centres it', { skip }, () => {
  for (const { size: [height, width], digit, field } of manifest.centrings) {
    const ours = web.centreByMass({ pixels: read(digit, Float32Array), height, width });
    assert.deepEqual(ours, read(field, Float32Array), `${height}x${width} digit ${digit}`);
  }
});

test('halves round to even, as Python\'s round() does', () => {
  const halves = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999999999999996, 13.5, -0.3];
  assert.deepEqual(halves.map(web.roundHalfEven), [0, 2, 2, 0, -2, -2, 2, 14, 0]);
});

test('time to preprocess a 280x280 drawing, warm (reported, not checked)', { skip }, t => {
  const drawings = manifest.drawings.filter(drawing => drawing.image && drawing.width === 280
    && drawing.height === 280);
  const inks = drawings.slice(0, 40).map(drawing => read(drawing.ink, Float32Array));
  for (const ink of inks) web.preprocess(ink, 280, 280);  // warm up
  const times = inks.flatMap(ink => [0, 1, 2].map(() => {
    const start = performance.now();
    web.preprocess(ink, 280, 280);
    return performance.now() - start;
  })).sort((a, b) => a - b);
  t.diagnostic(`preprocess, 280x280: median ${times[times.length >> 1].toFixed(2)} ms, `
    + `slowest ${times[times.length - 1].toFixed(2)} ms (${times.length} runs of ${inks.length} drawings)`);
});
