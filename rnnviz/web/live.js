// The live reading, beside the canvas: the selected model reads the drawing in the page as the pen moves
// (at most once per animation frame), and shows its prediction, the image it sees, the class probabilities
// and every gate and state at each step, with ▶ Play and the step slider. Nothing goes to the server while
// the pen moves; at each pause the drawing is sent once (pen.js), for what only the server does, saying
// whether the server's views of it are in sight (sight.js); if not, it is sent again when they are. Its data:
// rnnviz/browser_data.py `live`. The digit may also come from the server (the gallery, a test digit, a link).

import { bytes, toBytes } from './decode.js';
import { colourBar, digitImage, element, heatmap, probabilityBars } from './draw.js';
import { stepper } from './controls.js';
import { mount } from './mount.js';
import { model, onDigit, setDigit, traceOf } from './reading.js';
import { watchPen } from './pen.js';
import { inSight, whenInSight } from './sight.js';
import { CLASSES } from './config.js';
import { arranged, contributionOrder, prediction, quantity, stateRange } from './trace.js';

let pen = null;  // the one pen watcher: {key, stop, send (to the view's latest setStateValue), later (cancel)}

function answerArea(root) {  // "Prediction" and the answer (data-reading), and a line about it; set(trace | digit)
  const area = element('div', 'answer', root);
  element('span', 'label', area, 'Prediction');
  const shown = element('output', 'reading', area);
  shown.dataset.reading = '';
  const said = element('span', 'said', area);
  return (trace, digit) => {
    const best = trace ? prediction(trace) : null;
    shown.dataset.reading = best === null ? '' : String(best);
    shown.textContent = best === null ? '–' : String(best);
    const last = trace ? trace.probs.subarray((trace.steps - 1) * CLASSES) : null;
    said.textContent = trace ? `${Math.round(last[best] * 100)}% after row ${trace.steps}, read in your browser`
      : digit.error && !digit.empty ? `This drawing cannot be read: ${digit.error}.`
        : 'Draw a digit: the answer and every gate follow your pen.';
  };
}

function panelsArea(root, data, tables) {  // one captioned heatmap per panel; set(trace) repaints, draw(step)
  const grid = element('div', 'panels', root);
  const tableOf = {gate: tables.gate, state: tables.state, cell_state: tables.state};
  const maps = data.panels.map(panel => {
    const box = element('div', 'panel', grid);
    box.dataset.quantity = panel.quantity;
    const map = heatmap(box, panel.title, new Uint8Array(data.units * data.steps), data.units, data.steps,
                        tableOf[panel.range], 'One line per unit (top: most telling), one column per step', 3);
    return {panel, map, relabel: colourBar(box, tableOf[panel.range], '', '', panel.symbol)};
  });
  const set = (trace, readoutWeight) => {
    const order = contributionOrder(trace, readoutWeight), range = stateRange([trace.cell_state]);
    const ranges = {gate: [0, 1], state: [-1, 1], cell_state: [-range, range]};
    maps.forEach(({panel, map, relabel}) => {
      const [lo, hi] = ranges[panel.range];
      map.set(toBytes(arranged(quantity(trace, panel.quantity), order, trace.steps), lo, hi));
      relabel(lo.toFixed(lo % 1 ? 1 : 0), hi.toFixed(hi % 1 ? 1 : 0));
    });
  };
  return {set, draw: step => maps.forEach(({map}) => map.draw(step, tables.highlight))};
}

function buildLive(root, data, view, tables) {
  root.replaceChildren();
  root.dataset.view = 'live';
  const answer = answerArea(root);
  const top = element('div', 'seen-row', root);
  const seen = digitImage(top, 'what it sees', new Uint8Array(data.cols * data.steps), data.cols, data.steps,
                          tables.image, 'The 28 x 28 image the network reads, the row being read boxed', 3);
  const bars = probabilityBars(top, 'Class probabilities after this row; the marks: after the last row');
  const stepArea = element('div', '', root);
  const panels = panelsArea(root, data, tables);
  let trace = null;
  const show = step => {
    root.dataset.step = step;
    if (!trace) return;
    const probs = trace.probs.subarray((step - 1) * CLASSES, step * CLASSES);
    bars(probs, prediction(trace, step), trace.probs.subarray((trace.steps - 1) * CLASSES));
    seen(step, tables.highlight);
    panels.draw(step);
  };
  const go = stepper(stepArea, data.steps, view, show);
  const load = next => {  // the view's data (the model, and the server's digit if not the pen's)
    view.model = next.model;
    follow(next, view);
  };
  view.redraw = digit => {  // the digit read now changed (or its model arrived)
    trace = traceOf(view.model);
    root.classList.toggle('empty', !trace);
    answer(trace, digit);
    if (trace) { seen.set(toBytes(trace.image, 0, 1)); panels.set(trace, model(view.model).readoutWeight); }
    go(view.step ?? data.steps);
  };
  load(data);
  return load;
}

function follow(data, view) {  // read the pen (data.canvas: the canvas component's key, or a sketch surface) or data.image
  view.off?.();
  if (data.canvas) {
    if (pen?.key !== data.canvas) {
      pen?.stop();
      const watcher = pen = {key: data.canvas, send: null, later: null};
      const unwatch = watchPen(data.canvas, {onRead: setDigit, onPause: url => watcher.send?.(url)});
      watcher.stop = () => { unwatch(); watcher.later?.(); };
    }
    pen.send = url => sendDrawing(pen, url, data.server_views, view);
  } else {
    pen?.stop();
    pen = null;
    const pixels = bytes(data.image);
    setDigit({image: Float32Array.from(pixels, p => p / 255), error: null, empty: false});
  }
  view.off = onDigit(digit => view.redraw?.(digit), true);  // every frame the pen moves
}

function sendDrawing(pen, url, serverViews, view) {  // at a pause: the drawing, and whether the server's views
  pen.later?.();  // of it are in sight; if not, again once they come into sight (an earlier wait is over)
  const seen = !serverViews || inSight(serverViews), send = now => view.setState?.('drawing', {data: url, in_sight: now});
  send(seen);
  pen.later = seen ? null : whenInSight(serverViews, () => { pen.later = null; send(true); });
}

function liveShape(data) { return [data.cell, data.units, data.steps].join(' '); }

export default function mountLive(component) {
  return mount(component, buildLive, liveShape);
}
