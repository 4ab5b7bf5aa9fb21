// The pen on streamlit-drawable-canvas, seen from the page: the drawing as the visitor sees it at any moment,
// read at most once per animation frame while the pen moves, and sent to the server once per pause.
//
// The canvas component sits in the same document, in the open shadow root of `.st-key-<its key>`. Fabric.js
// draws the stroke in progress on its upper canvas and moves it, at pen-up, to the lower `dc-canvas`; the
// background is a third canvas, below. So the drawing is the two `dc-canvas` layers together, transparent where
// there is no ink: as rnnviz.preprocess reads ink (brightness times alpha), the same ink as the PNG the canvas
// itself would send over its black background. That PNG is what this sends at a pause; the server reads it.
// A page with no server draws on sketch.js's surface instead, an element laid out alike.

import { MAX_BRUSH } from './config.js';
import { inkBox, inkFromPixels, preprocess } from './preprocess.js';

export const PAUSE_MS = 700;  // no pen for this long after a stroke (or undo, redo, clear): a pause in drawing
const INK_REACH = MAX_BRUSH / 2 + 2;  // CSS px: how far from the pen's path its ink may reach (the widest brush)

function layers(surface) {
  // [where the pen's events arrive, finished strokes, stroke in progress], or null: the layers of the canvas
  // component whose key is `surface`, or of a drawing surface (sketch.js), an element
  const root = typeof surface !== 'string' ? surface
    : document.querySelector(`.st-key-${CSS.escape(surface)} [data-testid="stBidiComponentIsolated"]`)?.shadowRoot;
  const found = root ? [...root.querySelectorAll('canvas.dc-canvas')] : [];
  return found.length === 2 ? [root, found.find(c => !c.classList.contains('upper-canvas')),
                               found.find(c => c.classList.contains('upper-canvas'))] : null;
}

function flattened(lower, upper, into, box = {left: 0, top: 0, right: lower.width, bottom: lower.height}) {
  // the layers together (only their part `box`, in canvas pixels), on `into` (sized, hence cleared, to fit it)
  into.width = box.right - box.left; into.height = box.bottom - box.top;
  const context = into.getContext('2d', {willReadFrequently: true});
  for (const layer of [lower, upper]) {
    context.drawImage(layer, box.left, box.top, into.width, into.height, 0, 0, into.width, into.height);
  }
  return context;
}

function inkOf(ink, width, height) {  // where the reading crops to: the box of the ink above INK_LEVEL, or null
  const box = inkBox({pixels: ink, height, width});
  return box && {left: box.left, top: box.top, right: box.right + 1, bottom: box.bottom + 1};
}

function around(x, y, reach) {  // the box of every pixel within `reach` of (x, y)
  return {left: Math.floor(x - reach), top: Math.floor(y - reach), right: Math.ceil(x + reach) + 1,
          bottom: Math.ceil(y + reach) + 1};
}

function union(a, b) {  // the box holding both (either may be null)
  return !a || !b ? a ?? b : {left: Math.min(a.left, b.left), top: Math.min(a.top, b.top),
                              right: Math.max(a.right, b.right), bottom: Math.max(a.bottom, b.bottom)};
}

function within(box, width, height) {  // the box cut to the canvas
  return {left: Math.max(0, box.left), top: Math.max(0, box.top), right: Math.min(width, box.right),
          bottom: Math.min(height, box.bottom)};
}

export function readDrawing(context, seen = () => {}) {
  // the flattened drawing -> {image (28 x 28), or error (why not)}; seen(ink) is shown its ink on the way. A part
  // of the drawing that holds all of its ink above INK_LEVEL (preprocess.js inkBox) reads as the whole: the
  // reading crops to that ink
  const {width, height} = context.canvas;
  try {
    const ink = inkFromPixels(context.getImageData(0, 0, width, height).data, width, height);
    seen(ink);
    return {image: preprocess(ink, width, height)};
  } catch (error) {
    return {image: null, error: error.message, empty: Boolean(error.empty)};
  }
}

export function drawingNow(surface) {  // the drawing now, as the PNG data URL sent at a pause (or null)
  const found = layers(surface);
  return found ? flattened(found[1], found[2], document.createElement('canvas')).canvas.toDataURL('image/png') : null;
}

function eventsOf(surface) {
  // [where to listen, whether an event is the pen's]: a component's events reach the document from its shadow
  // root, retargeted to its host (so a canvas the component makes anew is followed too); a surface's, itself
  if (typeof surface !== 'string') return [surface, () => true];
  const host = `.st-key-${CSS.escape(surface)}`;
  return [document, event => Boolean(event.target.closest?.(host))];
}

function drawingReader(surface) {
  // Reads the drawing on the layers of `surface`: all of it, on `whole` (the canvas sent at a pause), or, while
  // the pen is down, only the part of the canvas where there can be ink: the box of the ink at the last whole
  // read (`known`: of which lower layer), with the pen's path since then, as wide as the widest brush. Returns
  // {read(layers, down) -> {image | error}, follow(a pen event), whole}
  const whole = document.createElement('canvas'), part = document.createElement('canvas');
  let known = null, path = null;
  const readWhole = (lower, upper, down) => {
    known = null;
    if (!down) path = null;  // the pen's path is kept from the last whole read with the pen up: a stroke begun
    // at once after another (before that read) keeps the one before in it
    return readDrawing(flattened(lower, upper, whole),
                       ink => { known = {layer: lower, ink: inkOf(ink, whole.width, whole.height)}; });
  };
  const read = ([, lower, upper], down) => {
    const box = path && within(union(known?.ink, path), lower.width, lower.height);
    const inPart = down && box && known?.layer === lower && box.right > box.left && box.bottom > box.top;
    return inPart ? readDrawing(flattened(lower, upper, part, box)) : readWhole(lower, upper, down);
  };
  const follow = event => {  // the pen's path grows by where this event puts it (and the points it stands for)
    const upper = layers(surface)?.[2];
    if (!upper) return;
    const rect = upper.getBoundingClientRect(), scale = upper.width / rect.width;
    for (const point of event.getCoalescedEvents?.() ?? [event]) {  // in canvas pixels
      path = union(path, around((point.clientX - rect.left) * scale, (point.clientY - rect.top) * scale,
                                INK_REACH * scale));
    }
  };
  return {read, follow, whole};
}

export function watchPen(surface, {onRead, onPause}) {
  // Follows the canvas of component key `surface` (or a sketch.js surface): onRead({image | error}, whether the
  // pen is still down) at most once per animation frame while the drawing changes, onPause(png data URL) after
  // each pause. A read that took long waits as long again before the next, so that the canvas keeps drawing
  // the ink on a slow device. Returns stop()
  const reader = drawingReader(surface), [listener, ours] = eventsOf(surface);
  let frame = 0, pause = 0, down = false, sent = null, readyAt = 0;
  const readNow = () => {  // the layers found afresh each time; until the canvas is there, look each frame
    const found = layers(surface), start = performance.now();
    frame = found ? 0 : requestAnimationFrame(readNow);
    if (!found) return;
    onRead(reader.read(found, down), down);
    readyAt = performance.now() + (performance.now() - start);
  };
  const changed = () => {  // read at the next frame, or once the last read's time has passed
    if (!frame) frame = requestAnimationFrame(() => (performance.now() >= readyAt ? readNow() : (frame = 0, changed())));
  };
  const paused = () => {
    const url = reader.whole.toDataURL('image/png');
    if (url !== sent) onPause(sent = url);
  };
  const pauseAfter = () => { clearTimeout(pause); pause = setTimeout(paused, PAUSE_MS); };
  const afterRedraw = () => {  // the canvas redraws its layers in its next frame (a stroke moved down, an undo): read
    cancelAnimationFrame(frame);  // the frame after, then wait for a pause
    frame = requestAnimationFrame(() => { frame = requestAnimationFrame(() => { readNow(); pauseAfter(); }); });
  };
  const lifted = event => {  // a stroke ends (one begun before this page followed the pen, too)
    if (down || ours(event)) { down = false; afterRedraw(); }
  };
  const button = event => ours(event) && event.composedPath().some(node => node.tagName === 'BUTTON');
  const handlers = {  // the pen's own events; a lift anywhere ends its stroke
    pointerdown: event => { if (ours(event)) { down = true; reader.follow(event); clearTimeout(pause); changed(); } },
    pointermove: event => { if (down && ours(event)) { reader.follow(event); changed(); } },
    pointerup: lifted, pointercancel: lifted,
    click: event => { if (button(event)) afterRedraw(); },  // undo, redo, clear (sketch.js's too)
  };
  for (const [name, handle] of Object.entries(handlers)) listener.addEventListener(name, handle, true);
  readNow();
  return () => {
    cancelAnimationFrame(frame); clearTimeout(pause);
    for (const [name, handle] of Object.entries(handlers)) listener.removeEventListener(name, handle, true);
  };
}
