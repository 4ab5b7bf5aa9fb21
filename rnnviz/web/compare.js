// Compare's view: every model's panel at one step, one slider and one ▶ Play for all of them, drawn in the
// page with no message to the server. Its data: rnnviz/browser_data.py `race`. Drawn with draw.js.

import { bytes } from './decode.js';
import { paletteColours } from './palette.js';
import { digitImage, element, figure, heatmap, mostLikely, paint, probabilityBars } from './draw.js';
import { linkButton, stepper } from './controls.js';
import { mount } from './mount.js';

function comparePanel(model, data, parent, tables) {  // one model's panel; its draw(step)
  const {steps, cols} = data, units = model.units;
  const box = element('section', 'panel', parent);
  box.dataset.model = model.name;
  const head = element('header', '', box);
  element('b', 'name', head, model.name);
  const reads = element('span', 'reads', head);
  const final = element('span', 'final', head);
  final.textContent = `final ${model.prediction}` + (model.was === null ? '' : ` (was ${model.was})`);
  if (model.was !== null) final.classList.add('changed');

  const top = element('div', 'top', box);
  const drawInput = digitImage(top, 'rows read', bytes(model.image), cols, steps, tables.image,
                               'The digit; the row being read is boxed, rows not read yet are darkened', 4);
  let drawMemory = () => {};
  if (model.reconstruction !== null) {
    const recalled = bytes(model.reconstruction);
    const recall = figure(top, 'what it still remembers', cols, steps,
                          'Rows 1..t decoded from what the cell carries after row t (h, and c for the LSTM)');
    const frame = recall.createImageData(cols, steps), [unread] = paletteColours(top, 'unread');
    drawMemory = step => {
      recall.putImageData(paint(frame, recalled, (step - 1) * steps * cols, tables.image), 0, 0);
      recall.fillStyle = unread;  // the rows not read yet
      recall.fillRect(0, step, cols, steps - step);
    };
  }
  const bars = probabilityBars(top, 'Class probabilities after this row');

  const states = element('div', 'states', box);
  const hidden = heatmap(states, 'h', bytes(model.hidden), units, steps, tables.state,
                         `Hidden state h, one line per unit (top = most telling), colour -${data.hidden_range}..+${data.hidden_range}`);
  const cell = model.cell_state === null ? null :
    heatmap(states, 'c', bytes(model.cell_state), units, steps, tables.state,
            `Cell state c (the LSTM's memory), colour -${data.cell_range}..+${data.cell_range} for every LSTM`);

  const gates = element('div', 'gates', box);
  const grid = Math.ceil(Math.sqrt(units));
  const gateDraws = Object.entries(model.gates).map(([name, encoded]) => {
    const values = bytes(encoded), padded = new Uint8Array(grid * grid);
    const context = figure(gates, name, grid, grid, `The ${name} gate of every unit at this row (0 dark, 1 yellow)`);
    const frame = context.createImageData(grid, grid);
    return step => {
      padded.set(values.subarray((step - 1) * units, step * units));
      context.putImageData(paint(frame, padded, 0, tables.gate), 0, 0);
    };
  });
  if (!gateDraws.length) element('p', 'nogates', gates, 'no gates: every row is squashed into h through tanh');

  return step => {
    box.dataset.step = step;
    const probs = model.probs[step - 1];
    const best = mostLikely(probs);
    reads.textContent = `reads ${best} (${Math.round(probs[best] * 100)}%) at row ${step}`;
    bars(probs, best);
    drawInput(step, tables.highlight); drawMemory(step);
    hidden.draw(step, tables.highlight);
    if (cell) cell.draw(step, tables.highlight);
    gateDraws.forEach(draw => draw(step));
  };
}

function buildCompare(root, data, view, tables) {
  root.replaceChildren();
  root.dataset.view = 'compare';
  const stepArea = element('div', '', root);
  if (data.note) element('p', 'note', root, data.note);
  const panels = element('div', 'panels', root);
  const draws = data.models.map(model => comparePanel(model, data, panels, tables));
  stepper(stepArea, data.steps, view, step => {
    root.dataset.step = step;
    draws.forEach(draw => draw(step));
  });
  if (data.link) linkButton(stepArea, view);
}

export default function mountCompare(component) {
  return mount(component, buildCompare);
}
