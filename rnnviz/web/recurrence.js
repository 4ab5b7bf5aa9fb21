// The browser's mirror of rnnviz/recurrence.py: a model reads a 28 x 28 image one row per step, and every gate,
// the candidate, the LSTM's cell state c, the hidden state h and the class probabilities are kept at every
// step. PyTorch's gate order and formulas, as written out there; the Python code is the reference, and
// tests/web/recurrence.test.mjs checks this mirror against it on real digits.
//
//   LSTM  i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (W_i x_t + b_i + W_h h_(t-1) + b_h)
//         c_t = f * c_(t-1) + i * g          h_t = o * tanh(c_t)
//   GRU   r, z = sigmoid(W_ir x_t + b_ir + W_hr h_(t-1) + b_hr), sigmoid(... z ...)
//         n = tanh(W_in x_t + b_in + r * (W_hn h_(t-1) + b_hn))      h_t = (1 - z) * n + z * h_(t-1)
//   RNN   h_t = tanh(W_i x_t + b_i + W_h h_(t-1) + b_h)

import { CLASSES, COLS, ROWS } from './config.js';

const MNIST_MEAN = 0.1307, MNIST_STD = 0.3081;  // rnnviz/model.py: the model normalises its own input
export const GATE_NAMES = {rnn: [], gru: ['reset', 'update', 'candidate'], lstm: ['input', 'forget', 'candidate', 'output']};
const KEEP_GATE = {lstm: 'forget', gru: 'update'};  // rnnviz/intervention.py: the gate that keeps the old state
export const NO_CHANGE = {keepGate: null, silenced: [], blankRows: null};  // a what-if that changes nothing

const sigmoid = v => 1 / (1 + Math.exp(-v));

function affine(weight, bias, vector, rows, cols, out, at = 0) {  // out[at + r] = weight[r] . vector + bias[r]
  let r = 0;
  for (; r + 4 <= rows; r += 4) {  // four rows at once, each value of the vector read once for all four: the
    const a = r * cols, b = a + cols, c = b + cols, d = c + cols;  // loop V8 runs fastest
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < cols; k++) {
      const v = vector[k];
      s0 += weight[a + k] * v; s1 += weight[b + k] * v; s2 += weight[c + k] * v; s3 += weight[d + k] * v;
    }
    out[at + r] = bias[r] + s0; out[at + r + 1] = bias[r + 1] + s1;
    out[at + r + 2] = bias[r + 2] + s2; out[at + r + 3] = bias[r + 3] + s3;
  }
  for (; r < rows; r++) {
    let sum = 0;
    for (let k = 0; k < cols; k++) sum += weight[r * cols + k] * vector[k];
    out[at + r] = bias[r] + sum;
  }
  return out;
}

const blankRowInputs = new WeakMap();  // model -> what a row with no ink adds to the gates: made once

function blankRowInput(model) {  // W_i x + b_i for a row of 0s (as the model normalises it)
  if (!blankRowInputs.has(model)) {
    const rows = model.inputBias.length, blank = new Float32Array(COLS).fill((0 - MNIST_MEAN) / MNIST_STD);
    blankRowInputs.set(model, affine(model.inputWeight, model.inputBias, blank, rows, COLS, new Float64Array(rows)));
  }
  return blankRowInputs.get(model);
}

function asRead(image, whatIf) {  // (28 x 28) the image as the model reads it: blanked rows set to 0 (a copy)
  const read = Float32Array.from(image);
  if (whatIf.blankRows) read.fill(0, (whatIf.blankRows[0] - 1) * COLS, whatIf.blankRows[1] * COLS);
  return read;
}

function lstmStep(gates, cellState, hidden, units, clamp) {
  // gates: the 4 * units pre-activations (i, f, g, o) -> activations in place; c and h updated in place
  for (let u = 0; u < units; u++) {
    const i = sigmoid(gates[u]), g = Math.tanh(gates[2 * units + u]), o = sigmoid(gates[3 * units + u]);
    const f = clamp === null ? sigmoid(gates[units + u]) : clamp;
    gates[u] = i; gates[units + u] = f; gates[2 * units + u] = g; gates[3 * units + u] = o;
    cellState[u] = f * cellState[u] + i * g;
    hidden[u] = o * Math.tanh(cellState[u]);
  }
}

function gruStep(fromInput, fromHidden, gates, hidden, units, clamp) {
  // fromInput, fromHidden: the 3 * units projections (r, z, n) -> gates (r, z, n); h updated in place
  for (let u = 0; u < units; u++) {
    const r = sigmoid(fromInput[u] + fromHidden[u]);
    const z = clamp === null ? sigmoid(fromInput[units + u] + fromHidden[units + u]) : clamp;
    const n = Math.tanh(fromInput[2 * units + u] + r * fromHidden[2 * units + u]);
    gates[u] = r; gates[units + u] = z; gates[2 * units + u] = n;
    hidden[u] = (1 - z) * n + z * hidden[u];
  }
}

function softmaxReadout(model, hidden, probs, at, logits) {  // probs[at ...] = softmax(W h + b); logits: scratch
  affine(model.readoutWeight, model.readoutBias, hidden, CLASSES, model.units, logits);
  let top = -Infinity;
  for (let k = 0; k < CLASSES; k++) top = Math.max(top, logits[k]);
  let total = 0;
  for (let k = 0; k < CLASSES; k++) total += (logits[k] = Math.exp(logits[k] - top));
  for (let k = 0; k < CLASSES; k++) probs[at + k] = logits[k] / total;
}

export function read(model, image, whatIf = NO_CHANGE) {
  // model (weights.js) reading image (28 x 28 in [0, 1], row-major) under a what-if -> its trace: the image as
  // read, and (steps x units, row-major) hidden, cell_state (LSTM; else null) and each gate, (steps x 10) probs
  const {cell, units} = model, names = GATE_NAMES[cell], size = names.length || 1;
  const seen = asRead(image, whatIf), x = seen.map(p => (p - MNIST_MEAN) / MNIST_STD);
  const trace = {cell, units, steps: ROWS, image: seen, hidden: new Float32Array(ROWS * units),
                 cell_state: cell === 'lstm' ? new Float32Array(ROWS * units) : null, probs: new Float32Array(ROWS * CLASSES),
                 gates: Object.fromEntries(names.map(name => [name, new Float32Array(ROWS * units)]))};
  const hidden = new Float64Array(units), cellState = new Float64Array(units), silenced = whatIf.silenced.filter(u => u < units);
  const fromInput = new Float64Array(size * units), fromHidden = new Float64Array(size * units);
  const logits = new Float64Array(CLASSES);
  const clamp = KEEP_GATE[cell] && whatIf.keepGate !== null ? whatIf.keepGate : null, gates = new Float64Array(size * units);
  const blank = blankRowInput(model);
  for (let step = 0; step < ROWS; step++) {
    if (seen.subarray(step * COLS, (step + 1) * COLS).some(p => p !== 0)) {
      affine(model.inputWeight, model.inputBias, x.subarray(step * COLS, (step + 1) * COLS), size * units, COLS, fromInput);
    } else fromInput.set(blank);  // most rows of a digit hold no ink
    affine(model.hiddenWeight, model.hiddenBias, hidden, size * units, units, fromHidden);
    if (cell === 'lstm') {
      for (let k = 0; k < gates.length; k++) gates[k] = fromInput[k] + fromHidden[k];
      lstmStep(gates, cellState, hidden, units, clamp);
      silenced.forEach(u => { cellState[u] = 0; });
      trace.cell_state.set(cellState, step * units);
    } else if (cell === 'gru') {
      gruStep(fromInput, fromHidden, gates, hidden, units, clamp);
    } else {
      for (let u = 0; u < units; u++) hidden[u] = Math.tanh(fromInput[u] + fromHidden[u]);
    }
    silenced.forEach(u => { hidden[u] = 0; });
    trace.hidden.set(hidden, step * units);
    names.forEach((name, k) => trace.gates[name].set(gates.subarray(k * units, (k + 1) * units), step * units));
    softmaxReadout(model, hidden, trace.probs, step * CLASSES, logits);
  }
  return trace;
}
