// Inspect's view: one model reading one digit, every gate and state at one step. The slider and ▶ Play move
// the step in the page, with no message to the server; hovering (or tapping) a heatmap writes out that
// unit's update at that step with its numbers. Its data: rnnviz/views.py `inspect`. Drawn with
// ui/views/draw.js.

const SUBSCRIPTS = '₀₁₂₃₄₅₆₇₈₉';

function sub(n) { return String(n).replace(/\d/g, d => SUBSCRIPTS[d]); }
function operand(v) { return v < 0 ? `(${v.toFixed(2)})` : v.toFixed(2); }  // negative operands in brackets

function unitUpdate(cell, value, unit, step) {
  // One unit's update at one step (1-based), written out with its numbers; value(quantity, step) reads the
  // trace (step 0: the zero state before the first row)
  const at = (name, s = step) => (s < 1 ? 0 : value(name, s));
  if (cell === 'lstm') {
    const c = at('cell_state');
    return `c${sub(step)} = f·c${sub(step - 1)} + i·g = ${operand(at('forget'))}·${operand(at('cell_state', step - 1))}`
      + ` + ${operand(at('input'))}·${operand(at('candidate'))} = ${c.toFixed(2)}     `
      + `h${sub(step)} = o·tanh(c${sub(step)}) = ${operand(at('output'))}·tanh(${c.toFixed(2)}) = ${at('hidden').toFixed(2)}`;
  }
  if (cell === 'gru') {
    const z = at('update');
    return `h${sub(step)} = (1 − z)·n + z·h${sub(step - 1)} = (1 − ${operand(z)})·${operand(at('candidate'))} + `
      + `${operand(z)}·${operand(at('hidden', step - 1))} = ${at('hidden').toFixed(2)}     `
      + `(reset r = ${operand(at('reset'))} scaled h${sub(step - 1)} inside n)`;
  }
  const h = at('hidden'), before = Math.atanh(Math.min(Math.max(h, -0.999999), 0.999999));
  return `h${sub(step)} = tanh(W·x${sub(step)} + U·h${sub(step - 1)} + b) = tanh(${before.toFixed(2)}) = ${h.toFixed(2)}`;
}

function buildInspect(root, data, view, tables) {
  root.replaceChildren();
  root.dataset.view = 'inspect';
  const {steps, units, order, unit, cell} = data;
  const values = Object.fromEntries(data.panels.map(panel => [panel.quantity, halves(panel.values)]));
  const value = (name, step, u = unit) => values[name][(step - 1) * units + u];  // steps x units
  const probs = halves(data.probs);  // steps x 10
  const probsAt = step => probs.subarray((step - 1) * 10, step * 10);
  const tableOf = {gate: tables.gate, state: tables.state, cell_state: tables.state};

  const stepArea = element('div', '', root);
  const said = element('p', 'update', root);
  const grid = element('div', 'grid', root);
  const drawInput = digitImage(grid, 'What the network sees (the row being read boxed)', bytes(data.image),
                               data.cols, steps, tables.image, 'Row t is read at step t');
  const bars = probabilityBars(grid, 'Class probabilities at this step; the marks: after the last row');
  const colours = tables.classes;  // one per digit; the unit's quantities take them in turn too
  const drawProbs = lineChart(grid, 'Probability of each digit after each step', [...Array(10).keys()].map(digit => ({
    values: Array.from({length: steps}, (_, t) => probs[t * 10 + digit]), colour: colours[digit],
    width: digit === data.prediction ? 3.5 : 1.5})), steps, 0, 1, ['0%', '100%'],
    'One line per digit, coloured as in the page\'s charts; the answer bold');
  const unitLines = data.panels.map((panel, i) => ({
    values: Array.from({length: steps}, (_, t) => value(panel.quantity, t + 1)), colour: colours[i], width: 2}));
  const unitValues = unitLines.flatMap(line => line.values);
  const [low, high] = [Math.min(-1, ...unitValues), Math.max(1, ...unitValues)];
  const drawUnit = lineChart(grid, `Unit ${unit} over time`, unitLines, steps, low, high,
                             [low.toFixed(1), high.toFixed(1)], 'Each of its values at every step');
  const legend = element('p', 'legend', drawUnit.figure);
  data.panels.forEach((panel, i) => { element('span', '', legend, `━ ${panel.symbol}`).style.color = colours[i]; });
  const tip = tooltip(root);
  const maps = data.panels.map(panel => {
    const box = element('div', 'panel', grid);
    const [lo, hi] = data.ranges[panel.range];
    const colours = new Uint8ClampedArray(units * steps);  // units (in order, top first) x steps
    const own = values[panel.quantity], scale = 255 / (hi - lo);
    order.forEach((u, row) => { for (let t = 0; t < steps; t++) colours[row * steps + t] = (own[t * units + u] - lo) * scale; });
    const map = heatmap(box, panel.title, colours, units, steps, tableOf[panel.range],
                        'One line per unit (top = most telling), one column per step: hover for a unit\'s update', 6);
    colourBar(box, tableOf[panel.range], lo, hi, panel.symbol);
    const explain = event => {  // the unit and step under the pointer, written out
      const bounds = map.canvas.getBoundingClientRect(), area = root.getBoundingClientRect();
      const step = Math.min(steps, Math.max(1, Math.ceil((event.clientX - bounds.left) / bounds.width * steps)));
      const u = order[Math.min(units - 1, Math.max(0, Math.floor((event.clientY - bounds.top) / bounds.height * units)))];
      tip.show(`unit ${u}, step ${step}: ${panel.symbol} = ${value(panel.quantity, step, u).toFixed(2)}\n`
               + unitUpdate(cell, (name, s) => value(name, s, u), u, step), event.clientX - area.left, event.clientY - area.top);
    };
    map.canvas.addEventListener('pointermove', explain);
    map.canvas.addEventListener('pointerdown', explain);
    map.canvas.addEventListener('pointerleave', tip.hide);
    return map;
  });
  stepper(stepArea, steps, view, step => {
    root.dataset.step = step;
    const now = probsAt(step);
    let best = 0;
    now.forEach((p, digit) => { if (p > now[best]) best = digit; });
    bars(now, best, probsAt(steps));
    drawInput(step, tables.highlight);
    drawProbs(step, tables.highlight);
    drawUnit(step, tables.highlight);
    maps.forEach(map => map.draw(step, tables.highlight));
    said.textContent = `Reads ${best} (${Math.round(now[best] * 100)}%) after row ${step}. Unit ${unit} at step ${step}: `
      + unitUpdate(cell, (name, s) => value(name, s), unit, step);
  });
}

export default function mountInspect(component) {
  return mount(component, buildInspect);
}
