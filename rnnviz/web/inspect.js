// Inspect's view: one model reading one digit, every gate and state at one step. The slider and ▶ Play move
// the step, the order of the units and the unit followed change in the page, with no message to the
// server; hovering (or tapping) a heatmap writes out that unit's update at that step with its numbers, and
// clicking it follows that unit. It reads the digit in the page (reading.js), through the model its data
// names: rnnviz/browser_data.py `inspect`. Drawn with draw.js.

import { toBytes } from './decode.js';
import { colourBar, digitImage, element, heatmap, lineChart, probabilityBars, tooltip } from './draw.js';
import { model, onDigit, traceOf } from './reading.js';
import { arranged, mostLikely, prediction, quantity, stateRange, unitOrders } from './trace.js';
import { linkButton, stepper } from './controls.js';
import { mount } from './mount.js';

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

function inspectShape(data) {  // what the view's layout depends on: a drawing or a unit of the same model keeps it
  return [data.cell, data.units, data.steps, data.cols, ...data.panels.map(panel => panel.quantity)].join(' ');
}

function choices(parent, data, view, order, follow) {
  // "Order units by" (one button per order) and "Unit to follow" (a list in that order); each choice is kept
  // in `view` across the server's runs and calls order(by) or follow(unit). Returns relist(), which fills the
  // list again
  const row = element('div', 'choices', parent);
  element('span', '', row, 'Order units by');
  const buttons = Object.entries(data.order_names).map(([by, name]) => {
    const button = element('button', 'choice', row, name);
    button.onclick = () => order(by);
    return [by, button];
  });
  const label = element('label', '', row, 'Unit to follow ');
  const list = element('select', '', label);
  list.onchange = () => follow(Number(list.value));
  return orders => {
    buttons.forEach(([by, button]) => button.setAttribute('aria-pressed', String(by === view.by)));
    list.replaceChildren(...orders[view.by].map(u => new Option(`unit ${u}`, u, false, u === view.unit)));
  };
}

function inspectPanel(grid, panel, ctx) {
  // One heatmap of Inspect, with its colour bar: hovering (or tapping) writes out the unit's update at that
  // step, clicking follows the unit. ctx: {data, view, tables, tip, root, now() (what is shown), pick(unit)}
  const {data: {steps, units, cell}, view, tables, tip, root} = ctx;
  const tableOf = {gate: tables.gate, state: tables.state, cell_state: tables.state};
  const box = element('div', 'panel', grid);
  const map = heatmap(box, panel.title, new Uint8Array(units * steps), units, steps, tableOf[panel.range],
                      'One line per unit, one column per step: hover for a unit\'s update, click to follow it', 6);
  const relabel = colourBar(box, tableOf[panel.range], '', '', panel.symbol);
  const pointed = event => {  // the step and unit under the pointer
    const bounds = map.canvas.getBoundingClientRect();
    const step = Math.min(steps, Math.max(1, Math.ceil((event.clientX - bounds.left) / bounds.width * steps)));
    const row = Math.min(units - 1, Math.max(0, Math.floor((event.clientY - bounds.top) / bounds.height * units)));
    return [step, ctx.now().orders[view.by][row]];
  };
  const explain = event => {  // the unit and step under the pointer, written out
    const [step, u] = pointed(event), area = root.getBoundingClientRect(), now = ctx.now();
    tip.show(`unit ${u}, step ${step}: ${panel.symbol} = ${now.value(panel.quantity, step, u).toFixed(2)}\n`
             + unitUpdate(cell, (name, s) => now.value(name, s, u), u, step), event.clientX - area.left, event.clientY - area.top);
  };
  map.canvas.addEventListener('pointermove', explain);
  map.canvas.addEventListener('pointerdown', explain);
  map.canvas.addEventListener('pointerleave', tip.hide);
  map.canvas.addEventListener('click', event => ctx.pick(pointed(event)[1]));
  const arrange = (now, order) => {  // the values in this order of the units, on the range of its kind
    const [lo, hi] = now.ranges[panel.range];
    map.set(toBytes(arranged(now.values[panel.quantity], order, steps), lo, hi));
    relabel(lo, hi);
  };
  return {arrange, draw: step => map.draw(step, tables.highlight)};
}

function inspectCharts(grid, data, tables) {
  // The digit, the probabilities at the step, every digit's probability over the steps and the followed
  // unit's values: {input, bars, probs, unit, unitCaption}
  const {steps, cols} = data;
  const input = digitImage(grid, 'What the network sees (the row being read boxed)', new Uint8Array(cols * steps),
                           cols, steps, tables.image, 'Row t is read at step t');
  const bars = probabilityBars(grid, 'Class probabilities at this step; the marks: after the last row');
  const probs = lineChart(grid, 'Probability of each digit after each step', [], steps, 0, 1, ['0%', '100%'],
                          'One line per digit, coloured as in the page\'s charts; the answer bold');
  const unit = lineChart(grid, '', [], steps, -1, 1, ['', ''], 'Each of its values at every step');
  const legend = element('p', 'legend', unit.figure);
  data.panels.forEach((panel, i) => { element('span', '', legend, `━ ${panel.symbol}`).style.color = tables.classes[i]; });
  return {input, bars, probs, unit, unitCaption: unit.figure.querySelector('figcaption')};
}

function shownOf(trace, data, view) {
  // What the view shows of a trace: {orders, ranges, values (steps x units by quantity), value(name, step, u),
  // probsAt(step)}; the order and the unit followed kept, or the first ones
  const orders = unitOrders(trace, model(view.model).readoutWeight), first = Object.keys(orders)[0];
  if (!(view.by in orders)) view.by = first;
  if (view.unit === null || !(view.unit < data.units)) view.unit = orders[first][0];
  const range = stateRange([trace.cell_state]), probs = trace.probs, units = data.units;
  const values = Object.fromEntries(data.panels.map(panel => [panel.quantity, quantity(trace, panel.quantity)]));
  return {orders, values, ranges: {gate: [0, 1], state: [-1, 1], cell_state: [-range, range]},
          value: (name, step, u = view.unit) => values[name][(step - 1) * units + u],
          probsAt: step => probs.subarray((step - 1) * 10, step * 10)};
}

function askFor(view, next, units) {  // what the page asked for (an order, a unit to follow), once each
  if (next.order && next.order !== view.askedOrder) view.by = next.order;
  view.askedOrder = next.order;
  if (next.unit !== view.askedUnit || !(view.unit < units)) {
    view.askedUnit = next.unit;
    view.unit = next.unit ?? null;
  }
  view.model = next.model;
}

function probabilityLines(trace, colours) {  // every digit's probability over the steps, the answer bold
  const answer = prediction(trace);
  return [...Array(10).keys()].map(digit => ({
    values: Array.from({length: trace.steps}, (_, t) => trace.probs[t * 10 + digit]), colour: colours[digit],
    width: digit === answer ? 3.5 : 1.5}));
}

function buildInspect(root, data, view, tables) {
  // The layout, once per shape, filled with the digit read now; returns the update for the next data
  root.replaceChildren();
  root.dataset.view = 'inspect';
  const {steps, cell} = data, colours = tables.classes;  // one per digit; the unit's quantities take them in turn
  let now = null;  // what is shown (shownOf), of the digit read now
  const stepArea = element('div', '', root);
  const relist = choices(root, data, view, by => { view.by = by; arrange(); go(view.step); },
                         unit => { view.unit = unit; follow(); go(view.step); });
  const said = element('p', 'update', root), grid = element('div', 'grid', root);
  const charts = inspectCharts(grid, data, tables);
  const ctx = {data, view, tables, tip: tooltip(root), root, now: () => now,
               pick: unit => { view.unit = unit; follow(); go(view.step); }};
  const maps = data.panels.map(panel => inspectPanel(grid, panel, ctx));
  const show = step => {
    if (!now) return;  // the stepper's first step comes before the first digit
    root.dataset.step = step;
    const probs = now.probsAt(step), best = mostLikely(probs);
    charts.bars(probs, best, now.probsAt(steps));
    [charts.input, charts.probs, charts.unit].forEach(draw => draw(step, tables.highlight));
    maps.forEach(map => map.draw(step));
    said.textContent = `Reads ${best} (${Math.round(probs[best] * 100)}%) after row ${step}. Unit ${view.unit} at step ${step}: `
      + unitUpdate(cell, (name, s) => now.value(name, s), view.unit, step);
  };
  const follow = () => {  // the followed unit's lines, and the list showing it
    root.dataset.unit = view.unit;
    relist(now.orders);
    const lines = data.panels.map((panel, i) => ({
      values: Array.from({length: steps}, (_, t) => now.value(panel.quantity, t + 1)), colour: colours[i], width: 2}));
    const all = lines.flatMap(line => line.values), [low, high] = [Math.min(-1, ...all), Math.max(1, ...all)];
    charts.unit.set(lines, low, high, [low.toFixed(1), high.toFixed(1)]);
    charts.unitCaption.textContent = `Unit ${view.unit} over time`;
  };
  const arrange = () => {  // the heatmaps in the chosen order, and the followed unit
    root.dataset.order = view.by;
    follow();
    maps.forEach(map => map.arrange(now, now.orders[view.by]));
  };
  const fill = () => {  // the digit read now through the model: every canvas repainted, none made again
    const trace = traceOf(view.model);
    root.classList.toggle('empty', !trace);
    if (!trace) return;
    now = shownOf(trace, data, view);
    charts.input.set(toBytes(trace.image, 0, 1));
    charts.probs.set(probabilityLines(trace, colours), 0, 1, ['0%', '100%']);
    arrange();
    go(view.step ?? steps);
  };
  const go = stepper(stepArea, steps, view, show);
  if (data.link) linkButton(stepArea, view, link => ({[link.unit]: view.unit, [link.order]: view.by}));
  askFor(view, data, data.units);
  view.off?.();
  view.off = onDigit(fill);
  return next => { askFor(view, next, data.units); fill(); };
}

export default function mountInspect(component) {
  return mount(component, buildInspect, inspectShape);
}
