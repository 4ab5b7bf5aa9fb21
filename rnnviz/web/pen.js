// The pen on streamlit-drawable-canvas, seen from the page: the drawing as the visitor sees it at any moment,
// read at most once per animation frame while the pen moves, and sent to the server once per pause.
//
// The canvas component sits in the same document, in the open shadow root of `.st-key-<its key>`. Fabric.js
// draws the stroke in progress on its upper canvas and moves it, at pen-up, to the lower `dc-canvas`; the
// background is a third canvas, below. So the drawing is the two `dc-canvas` layers together, transparent where
// there is no ink: as rnnviz.preprocess reads ink (brightness times alpha), the same ink as the PNG the canvas
// itself would send over its black background. That PNG is what this sends at a pause; the server reads it.
// A page with no server draws on sketch.js's surface instead, an element laid out alike.

import { inkFromPixels, preprocess } from './preprocess.js';

export const PAUSE_MS = 700;  // no pen for this long after a stroke (or undo, redo, clear): a pause in drawing

function layers(surface) {
  // [where the pen's events arrive, finished strokes, stroke in progress], or null: the layers of the canvas
  // component whose key is `surface`, or of a drawing surface (sketch.js), an element
  const root = typeof surface !== 'string' ? surface
    : document.querySelector(`.st-key-${CSS.escape(surface)} [data-testid="stBidiComponentIsolated"]`)?.shadowRoot;
  const found = root ? [...root.querySelectorAll('canvas.dc-canvas')] : [];
  return found.length === 2 ? [root, found.find(c => !c.classList.contains('upper-canvas')),
                               found.find(c => c.classList.contains('upper-canvas'))] : null;
}

function flattened(lower, upper, into) {  // the layers together, on `into` (sized, hence cleared, to fit them)
  into.width = lower.width; into.height = lower.height;
  const context = into.getContext('2d', {willReadFrequently: true});
  context.drawImage(lower, 0, 0);
  context.drawImage(upper, 0, 0);
  return context;
}

export function readDrawing(context) {  // the flattened drawing -> {image (28 x 28), or error (why not)}
  const {width, height} = context.canvas, pixels = context.getImageData(0, 0, width, height).data;
  try {
    return {image: preprocess(inkFromPixels(pixels, width, height), width, height)};
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

export function watchPen(surface, {onRead, onPause}) {
  // Follows the canvas of component key `surface` (or a sketch.js surface): onRead({image | error}, whether the
  // pen is still down) at most once per animation frame while the drawing changes, onPause(png data URL) after
  // each pause. A read that took long waits as long again before the next, so that the canvas keeps drawing
  // the ink on a slow device. Returns stop()
  const into = document.createElement('canvas'), [listener, ours] = eventsOf(surface);
  let frame = 0, pause = 0, down = false, sent = null, readyAt = 0;
  const readNow = () => {  // the layers found afresh each time; until the canvas is there, look each frame
    const found = layers(surface), start = performance.now();
    frame = found ? 0 : requestAnimationFrame(readNow);
    if (!found) return;
    onRead(readDrawing(flattened(found[1], found[2], into)), down);
    readyAt = performance.now() + (performance.now() - start);
  };
  const changed = () => {  // read at the next frame, or once the last read's time has passed
    if (!frame) frame = requestAnimationFrame(() => (performance.now() >= readyAt ? readNow() : (frame = 0, changed())));
  };
  const paused = () => {
    const url = into.toDataURL('image/png');
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
    pointerdown: event => { if (ours(event)) { down = true; clearTimeout(pause); changed(); } },
    pointermove: event => { if (down && ours(event)) changed(); },
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
