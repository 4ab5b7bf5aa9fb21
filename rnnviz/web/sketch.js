// A drawing surface for a page with no server (offline.js): white round-capped strokes on black, drawn with a
// mouse, a pen or a finger (pointer events), with a Clear button and a brush width.
//
// Laid out as pen.js reads streamlit-drawable-canvas, so that the live view follows it the same way: inside the
// surface, two canvases of class `dc-canvas`, the finished strokes (`lower-canvas`) under the stroke in progress
// (`upper-canvas`), both transparent over a black paper, and the Clear button (a click re-reads the drawing).

import { element } from './draw.js';
import { paletteColours } from './palette.js';

function strokeFollower(upper, lower, brushWidth) {
  // Draws the stroke in progress on `upper` as the pointer moves, redrawn whole so that its joins are round;
  // at pen-up it moves onto `lower`, as Fabric.js does
  const context = upper.getContext('2d');
  let points = null, width = 0, ink = '';
  const at = event => {  // the pointer in canvas pixels (the canvas may be shown smaller than it is)
    const box = upper.getBoundingClientRect(), scale = upper.width / box.width;
    return [(event.clientX - box.left) * scale, (event.clientY - box.top) * scale];
  };
  const redraw = () => {
    context.clearRect(0, 0, upper.width, upper.height);
    Object.assign(context, {lineWidth: width, lineCap: 'round', lineJoin: 'round', strokeStyle: ink});
    context.beginPath();
    context.moveTo(...points[0]);
    for (const point of points) context.lineTo(...point);  // one point alone: a round dot
    context.stroke();
  };
  upper.addEventListener('pointerdown', event => {
    if (event.button !== 0) return;
    upper.setPointerCapture(event.pointerId);
    points = [at(event)];
    width = brushWidth();
    [ink] = paletteColours(upper, 'ink');  // the palette's, set on the page's root
    redraw();
  });
  upper.addEventListener('pointermove', event => {
    if (!points) return;
    for (const moved of event.getCoalescedEvents?.() ?? [event]) points.push(at(moved));
    redraw();
  });
  const finish = () => {
    if (!points) return;
    lower.getContext('2d').drawImage(upper, 0, 0);
    context.clearRect(0, 0, upper.width, upper.height);
    points = null;
  };
  upper.addEventListener('pointerup', finish);
  upper.addEventListener('pointercancel', finish);
}

export function drawingSurface(parent, {side, width, min, max}) {
  // A side x side drawing surface (canvas pixels; shown smaller where the page is narrower) with its Clear button
  // and brush width (px, from `width`, between min and max). Returns its element, which pen.js watches
  const surface = element('div', 'sketch', parent);
  const paper = element('div', 'paper', surface);
  const [lower, upper] = ['lower-canvas', 'upper-canvas'].map(layer => {
    const canvas = element('canvas', `dc-canvas ${layer}`, paper);
    canvas.width = canvas.height = side;
    return canvas;
  });
  upper.setAttribute('aria-label', 'Draw a digit here');
  const tools = element('div', 'tools', surface);
  const clear = element('button', 'clear', tools, 'Clear');
  const brush = element('label', 'brush', tools, 'Brush ');
  const slider = element('input', '', brush);
  Object.assign(slider, {type: 'range', min, max, step: 1, value: width});
  clear.onclick = () => lower.getContext('2d').clearRect(0, 0, side, side);
  strokeFollower(upper, lower, () => Number(slider.value));
  return surface;
}
