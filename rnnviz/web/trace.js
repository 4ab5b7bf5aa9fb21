// What the views read off a trace (recurrence.js `read`): one quantity's values, the answer, the units in the
// orders the views show them in, and the colour range of the cell state. Mirrors rnnviz/measures.py
// `unit_order` and rnnviz/browser_data.py `cell_state_range`.

import { CLASSES } from './config.js';

export function quantity(trace, name) {  // (steps x units) values of "hidden", "cell_state" or a gate
  return name === 'hidden' ? trace.hidden : name === 'cell_state' ? trace.cell_state : trace.gates[name];
}

export function mostLikely(probs) {  // the digit of the highest probability (the first, at a tie)
  let best = 0;
  for (let k = 1; k < probs.length; k++) if (probs[k] > probs[best]) best = k;
  return best;
}

export function prediction(trace, step = trace.steps) {  // the digit of the highest probability after `step`
  return mostLikely(trace.probs.subarray((step - 1) * CLASSES, step * CLASSES));
}

function descending(score) {  // indices, the highest score first (a stable sort, as numpy's argsort(-score))
  return [...score.keys()].sort((a, b) => score[b] - score[a] || a - b);
}

export function contributionOrder(trace, readoutWeight) {
  // units, the most telling first: the read-out weight for the answer times the final h
  const {units, steps} = trace, best = prediction(trace);
  return descending(Array.from({length: units}, (_, u) => readoutWeight[best * units + u] * trace.hidden[(steps - 1) * units + u]));
}

export function unitOrders(trace, readoutWeight) {  // the units in every order the views offer (rnnviz ORDERINGS)
  const {units, steps, hidden} = trace, activity = new Float64Array(units);
  for (let t = 0; t < steps; t++) for (let u = 0; u < units; u++) activity[u] += Math.abs(hidden[t * units + u]) / steps;
  return {contribution: contributionOrder(trace, readoutWeight), activity: descending(Array.from(activity)),
          index: [...Array(units).keys()]};
}

export function arranged(values, order, steps) {  // (steps x units) -> (units in `order`, top first) x steps
  const units = order.length, out = new Float32Array(units * steps);
  order.forEach((u, row) => { for (let t = 0; t < steps; t++) out[row * steps + t] = values[t * units + u]; });
  return out;
}

export function stateRange(cellStates) {
  // the colour range of c: the 99th percentile of |c| over the given arrays (null ones skipped), at least 1
  const kept = cellStates.filter(Boolean), values = new Float64Array(kept.reduce((n, c) => n + c.length, 0));
  let filled = 0;
  for (const c of kept) for (let i = 0; i < c.length; i++) values[filled++] = Math.abs(c[i]);
  values.sort();  // a typed array sorts by value
  if (!values.length) return 1;
  const at = 0.99 * (values.length - 1), low = Math.floor(at);  // numpy's linear interpolation
  const high = Math.min(low + 1, values.length - 1);
  return Math.max(1, values[low] + (values[high] - values[low]) * (at - low));
}
