// Compare's view: every model reads the digit in the page (reading.js) under one what-if, each panel at the
// same step, one slider and one ▶ Play for all of them; it follows the pen as it moves. What each model still
// remembers is decoded on the server (its decoders are megabytes), from the drawing it was last sent: it is
// shown until the drawing changes. Its data: rnnviz/browser_data.py `compare`. Drawn with draw.js.

import { bytes, toBytes } from './decode.js';
import { paletteColours } from './palette.js';
import { digitImage, element, figure, heatmap, paint, probabilityBars } from './draw.js';
import { linkButton, stepper } from './controls.js';
import { mount } from './mount.js';
import { model, onDigit, traceOf } from './reading.js';
import { NO_CHANGE } from './recurrence.js';
import { arranged, contributionOrder, mostLikely, prediction, stateRange } from './trace.js';

function memoryFigure(parent, data, tables) {  // what it still remembers; set(bytes | null), draw(step)
  const {cols, steps} = data, recall = figure(parent, 'what it still remembers', cols, steps,
                                              'Rows 1..t decoded from what the cell carries after row t (h, and c for the LSTM)');
  const frame = recall.createImageData(cols, steps), [unread] = paletteColours(parent, 'unread');
  let recalled = null;
  const draw = step => {
    recall.canvas.parentElement.hidden = !recalled;
    if (!recalled) return;
    recall.putImageData(paint(frame, recalled, (step - 1) * steps * cols, tables.image), 0, 0);
    recall.fillStyle = unread;  // the rows not read yet
    recall.fillRect(0, step, cols, steps - step);
  };
  return {draw, set: next => { recalled = next; }};
}

function gateSquares(parent, names, units, tables) {  // each gate of every unit at one step; set(gates), draw(step)
  const grid = Math.ceil(Math.sqrt(units)), padded = new Uint8Array(grid * grid);
  if (!names.length) element('p', 'nogates', parent, 'no gates: every row is squashed into h through tanh');
  let values = {};
  const squares = names.map(name => {
    const context = figure(parent, name, grid, grid, `The ${name} gate of every unit at this row (0 dark, 1 yellow)`);
    return {name, context, frame: context.createImageData(grid, grid)};
  });
  const draw = step => squares.forEach(({name, context, frame}) => {
    padded.set(values[name].subarray((step - 1) * units, step * units));
    context.putImageData(paint(frame, padded, 0, tables.gate), 0, 0);
  });
  return {draw, set: next => { values = next; }};
}

function inOrder(values, order, steps) {  // (steps x units) with each step's units in `order`
  const units = order.length, out = new Float32Array(units * steps);
  for (let t = 0; t < steps; t++) order.forEach((u, row) => { out[t * units + row] = values[t * units + u]; });
  return out;
}

function comparePanel(racer, data, parent, tables) {  // one model's panel: set(trace, baseline, range), draw(step)
  const {steps, cols} = data, units = racer.units;
  const box = element('section', 'panel', parent);
  box.dataset.model = racer.name;
  const head = element('header', '', box);
  element('b', 'name', head, racer.name);
  const reads = element('span', 'reads', head), final = element('span', 'final', head);
  const top = element('div', 'top', box);
  const input = digitImage(top, 'rows read', new Uint8Array(cols * steps), cols, steps, tables.image,
                           'The digit; the row being read is boxed, rows not read yet are darkened', 4);
  const memory = memoryFigure(top, data, tables);
  const bars = probabilityBars(top, 'Class probabilities after this row');
  const states = element('div', 'states', box), blank = new Uint8Array(units * steps);
  const hidden = heatmap(states, 'h', blank, units, steps, tables.state,
                         `Hidden state h, one line per unit (top = most telling), colour -1..+1`);
  const cell = racer.cell === 'lstm' ? heatmap(states, 'c', blank, units, steps, tables.state,
                                               'Cell state c (the LSTM\'s memory), one colour range for every LSTM') : null;
  const gates = gateSquares(element('div', 'gates', box), racer.gates, units, tables);
  let trace = null;
  const set = (next, baseline, range, recalled) => {
    trace = next;
    const order = contributionOrder(trace, model(racer.id).readoutWeight), answer = prediction(trace);
    const was = baseline && prediction(baseline) !== answer ? prediction(baseline) : null;
    final.textContent = `final ${answer}` + (was === null ? '' : ` (was ${was})`);
    final.classList.toggle('changed', was !== null);
    input.set(toBytes(trace.image, 0, 1));
    hidden.set(toBytes(arranged(trace.hidden, order, steps), -1, 1));
    if (cell) cell.set(toBytes(arranged(trace.cell_state, order, steps), -range, range));
    gates.set(Object.fromEntries(racer.gates.map(name => [name, toBytes(inOrder(trace.gates[name], order, steps), 0, 1)])));
    memory.set(recalled);
  };
  const draw = step => {
    if (!trace) return;
    box.dataset.step = step;
    const probs = trace.probs.subarray((step - 1) * 10, step * 10), best = mostLikely(probs);
    reads.textContent = `reads ${best} (${Math.round(probs[best] * 100)}%) at row ${step}`;
    bars(probs, best);
    input(step, tables.highlight); memory.draw(step);
    hidden.draw(step, tables.highlight);
    if (cell) cell.draw(step, tables.highlight);
    gates.draw(step);
  };
  return {set, draw};
}

function race(data, view) {  // every racer's trace under the what-if, the one without it, the shared range of c
  const whatIf = data.what_if ?? NO_CHANGE, changed = JSON.stringify(whatIf) !== JSON.stringify(NO_CHANGE);
  const traces = data.models.map(racer => traceOf(racer.id, whatIf));
  if (traces.some(trace => !trace)) return null;
  const baselines = data.models.map(racer => (changed ? traceOf(racer.id) : null));
  const remembered = view.digitsSeen === view.digitsAtData;  // the server's memory is of this very drawing
  return {traces, baselines, range: stateRange(traces.map(trace => trace.cell_state)), remembered};
}

function buildCompare(root, data, view, tables) {
  root.replaceChildren();
  root.dataset.view = 'compare';
  const stepArea = element('div', '', root);
  const note = element('p', 'note', root);
  const panels = element('div', 'panels', root);
  const racers = data.models.map(racer => comparePanel(racer, data, panels, tables));
  let current = data;
  const drawAll = step => { root.dataset.step = step; racers.forEach(panel => panel.draw(step)); };
  const go = stepper(stepArea, data.steps, view, drawAll);
  const fill = () => {
    view.digitsSeen = (view.digitsSeen ?? 0) + 1;
    const raced = race(current, view);
    root.classList.toggle('empty', !raced);
    if (!raced) return;
    racers.forEach((panel, i) => panel.set(raced.traces[i], raced.baselines[i], raced.range,
      raced.remembered && current.models[i].memory ? bytes(current.models[i].memory) : null));
    go(view.step ?? data.steps);
  };
  const load = next => {
    current = next;
    note.textContent = next.note;
    view.digitsAtData = (view.digitsSeen ?? 0) + 1;  // the fill that follows is of the drawing this data is of
    view.off?.();
    view.off = onDigit(fill);
  };
  if (data.link) linkButton(stepArea, view);
  load(data);
  return load;
}

function compareShape(data) {  // the same racers keep the layout; a new what-if or drawing repaints it
  return data.models.map(racer => `${racer.id} ${racer.name}`).join(' ');
}

export default function mountCompare(component) {
  return mount(component, buildCompare, compareShape);
}
