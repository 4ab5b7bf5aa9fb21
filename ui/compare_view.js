// Compare's animated view: every model's panel at one step, one slider and one Play for all of them.
// The data (rnnviz/compare.py) arrives once per server run, with its colours (rnnviz/figures/palette.py);
// stepping is drawn here, on canvases, with no message to the server. Bytes 0..255 map straight to
// colours through the palette's lookup tables (256 RGB colours each).

const VEIL = 'rgba(255, 255, 255, 0.82)';
const STEP_MS = 180;  // Play: one row per STEP_MS
const views = new WeakMap();  // parentElement -> the view's state, kept across server runs
let LUT, HIGHLIGHT;  // the palette's lookup tables and highlight colour, set by each new data

function bytes(base64) {
  const text = atob(base64), out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function paint(imageData, values, offset, lut) {  // imageData's pixels from values[offset ...] through lut
  const px = imageData.data;
  for (let i = 0; i < px.length / 4; i++) {
    const v = values[offset + i] * 3;
    px[i * 4] = lut[v]; px[i * 4 + 1] = lut[v + 1]; px[i * 4 + 2] = lut[v + 2]; px[i * 4 + 3] = 255;
  }
  return imageData;
}

function offscreen(width, height, values, lut) {  // a canvas holding values as an image, drawn once
  const canvas = document.createElement('canvas');
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext('2d');
  context.putImageData(paint(context.createImageData(width, height), values, 0, lut), 0, 0);
  return canvas;
}

function element(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function figure(parent, caption, width, height, title) {
  const box = element('figure', '', parent);
  const canvas = element('canvas', '', box);
  canvas.width = width; canvas.height = height;
  element('figcaption', '', box, caption);
  if (title) box.title = title;
  return canvas.getContext('2d');
}

function heatmap(parent, caption, values, units, steps, lut, title) {  // units x steps, drawn once, veiled per step
  const image = offscreen(steps, units, values, lut);
  const zoom = 4;
  const context = figure(parent, caption, steps * zoom, units * 2, title);
  context.imageSmoothingEnabled = false;
  return step => {
    context.drawImage(image, 0, 0, steps * zoom, units * 2);
    context.fillStyle = VEIL;
    context.fillRect(step * zoom, 0, (steps - step) * zoom, units * 2);
    context.fillStyle = HIGHLIGHT;
    context.fillRect(step * zoom - 1, 0, 1, units * 2);
  };
}

function panel(model, data, parent) {
  const {steps, cols} = data, units = model.units, side = cols * 4;
  const box = element('section', 'panel', parent);
  box.dataset.model = model.name;
  const head = element('header', '', box);
  element('b', 'name', head, model.name);
  const reads = element('span', 'reads', head);
  const final = element('span', 'final', head);
  final.textContent = `final ${model.prediction}` + (model.was === null ? '' : ` (was ${model.was})`);
  if (model.was !== null) final.classList.add('changed');

  const top = element('div', 'top', box);
  const image = offscreen(cols, steps, bytes(model.image), LUT.image);
  const input = figure(top, 'rows read', side, side, 'The digit; the row being read is boxed, rows not read yet are veiled');
  input.imageSmoothingEnabled = false;
  const drawInput = step => {
    input.drawImage(image, 0, 0, side, side);
    input.fillStyle = 'rgba(14, 17, 23, 0.7)';
    input.fillRect(0, step * 4, side, side - step * 4);
    input.strokeStyle = HIGHLIGHT; input.lineWidth = 2;
    input.strokeRect(1, (step - 1) * 4, side - 2, 4);
  };
  let drawMemory = () => {};
  if (model.reconstruction !== null) {
    const memory = bytes(model.reconstruction);
    const recall = figure(top, 'what it still remembers', cols, steps,
                          'Rows 1..t decoded from what the cell carries after row t (h, and c for the LSTM)');
    const frame = recall.createImageData(cols, steps);
    drawMemory = step => {
      paint(frame, memory, (step - 1) * steps * cols, LUT.image);
      for (let i = step * cols * 4; i < frame.data.length; i += 4) {  // rows not read: a neutral grey
        frame.data[i] = frame.data[i + 1] = frame.data[i + 2] = 60;
      }
      recall.putImageData(frame, 0, 0);
    };
  }
  const bars = element('div', 'probs', top);
  bars.title = 'Class probabilities after this row';
  const columns = [...Array(10).keys()].map(digit => {
    const column = element('div', 'col', bars);
    const bar = element('div', 'bar', element('div', 'well', column));
    element('span', '', column, String(digit));
    return bar;
  });

  const states = element('div', 'states', box);
  const drawHidden = heatmap(states, 'h', bytes(model.hidden), units, steps, LUT.state,
                             `Hidden state h, one line per unit (top = most telling), colour -${data.hidden_range}..+${data.hidden_range}`);
  const drawCell = model.cell_state === null ? () => {} :
    heatmap(states, 'c', bytes(model.cell_state), units, steps, LUT.state,
            `Cell state c (the LSTM's memory), colour -${data.cell_range}..+${data.cell_range} for every LSTM`);

  const gates = element('div', 'gates', box);
  const grid = Math.ceil(Math.sqrt(units));
  const gateDraws = Object.entries(model.gates).map(([name, encoded]) => {
    const values = bytes(encoded), padded = new Uint8Array(grid * grid);
    const context = figure(gates, name, grid, grid, `The ${name} gate of every unit at this row (0 dark, 1 yellow)`);
    const frame = context.createImageData(grid, grid);
    return step => {
      padded.set(values.subarray((step - 1) * units, step * units));
      context.putImageData(paint(frame, padded, 0, LUT.gate), 0, 0);
    };
  });
  if (!gateDraws.length) element('p', 'nogates', gates, 'no gates: every row is squashed into h through tanh');

  return step => {
    box.dataset.step = step;
    const probs = model.probs[step - 1];
    let best = 0;
    probs.forEach((p, digit) => { if (p > probs[best]) best = digit; });
    reads.textContent = `reads ${best} (${Math.round(probs[best] * 100)}%) at row ${step}`;
    columns.forEach((bar, digit) => {
      bar.style.transform = `scaleY(${probs[digit]})`;
      bar.classList.toggle('best', digit === best);
    });
    drawInput(step); drawMemory(step); drawHidden(step); drawCell(step);
    gateDraws.forEach(draw => draw(step));
  };
}

function build(root, data, view) {
  root.replaceChildren();
  const controls = element('div', 'controls', root);
  const play = element('button', 'play', controls, '▶ Play');
  const slider = element('input', 'step', controls);
  Object.assign(slider, {type: 'range', min: 1, max: data.steps, step: 1});
  slider.setAttribute('aria-label', 'Step: the row every model has just read');
  const readout = element('span', 'readout', controls);
  if (data.note) element('p', 'note', root, data.note);
  const panels = element('div', 'panels', root);
  const draws = data.models.map(model => panel(model, data, panels));

  const show = step => {
    view.step = step;
    slider.value = step;
    readout.textContent = `Row ${step} of ${data.steps}`;
    root.dataset.step = step;
    draws.forEach(draw => draw(step));
  };
  const stop = () => {
    clearTimeout(view.timer);
    view.timer = null;
    play.textContent = '▶ Play';
  };
  const tick = () => {
    if (view.step >= data.steps) return stop();
    show(view.step + 1);
    view.timer = setTimeout(tick, STEP_MS);
  };
  play.onclick = () => {
    if (view.timer) return stop();
    play.textContent = '❚❚ Pause';
    show(view.step >= data.steps ? 1 : view.step);
    view.timer = setTimeout(tick, STEP_MS);
  };
  slider.oninput = () => { stop(); show(Number(slider.value)); };
  view.stop = stop;
  show(Math.min(view.step ?? data.steps, data.steps));
}

export default function (component) {
  const {data, parentElement} = component;
  let view = views.get(parentElement);
  if (!view) {
    view = {step: null, timer: null, data: null, stop: () => {}};
    views.set(parentElement, view);
  }
  const root = parentElement.querySelector('.race');
  if (data && data !== view.data) {  // a new server run: new models, digit or what-if; keep the step
    view.stop();
    view.data = data;
    LUT = Object.fromEntries(['state', 'gate', 'image'].map(name => [name, bytes(data.palette[name])]));
    HIGHLIGHT = data.palette.highlight;
    build(root, data, view);
  }
  return () => view.stop();
}
