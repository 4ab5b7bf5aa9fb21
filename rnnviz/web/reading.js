// What every view of the page reads from: the models' weights (sent once) and the digit being read now (the
// pen's drawing as it changes, or a digit the server chose), with each model's trace of it, made once per
// digit and what-if. Views subscribe; nothing here touches the page.

import { parseWeights } from './weights.js';
import { NO_CHANGE, read } from './recurrence.js';

const models = new Map();  // model id -> its weights
const listeners = new Map();  // listener -> whether it follows the pen while it moves (else: when it lifts)
let digit = {image: null, error: null, empty: true};  // {image (28 x 28) | null, error: why there is none}
let traces = new Map();  // "model id what-if" -> trace, of the digit read now

export function addWeights(bytes) {  // the server's weights file (rnnviz/browser_data.py `weights`)
  for (const [id, model] of parseWeights(bytes)) models.set(id, model);
  listeners.forEach((_, listener) => listener(digit));
}

export function model(id) { return models.get(id) ?? null; }

export function setDigit(next, moving = false) {
  // The digit to read now ({image} or {image: null, error, empty}); `moving`: read while the pen is down. The
  // views that follow the pen are told at once; the others (below the first screen) when it lifts
  digit = next;
  traces = new Map();
  listeners.forEach((whileMoving, listener) => { if (whileMoving || !moving) listener(digit); });
}

export function digitNow() { return digit; }  // the digit read now: {image | null, error, empty}

export function onDigit(listener, whileMoving = false) {
  // listener(digit) now and at every change (and when weights arrive): while the pen moves too if
  // `whileMoving`, else once it lifts. Returns off()
  listeners.set(listener, whileMoving);
  listener(digit);
  return () => listeners.delete(listener);
}

export function traceOf(id, whatIf = NO_CHANGE) {  // the model's trace of the digit read now, or null
  const weights = models.get(id);
  if (!weights || !digit.image) return null;
  const key = `${id} ${JSON.stringify(whatIf)}`;
  if (!traces.has(key)) traces.set(key, read(weights, digit.image, whatIf));
  return traces.get(key);
}
