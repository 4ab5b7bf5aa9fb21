// The browser's recurrence (rnnviz/web/recurrence.js) against its reference, rnnviz/recurrence.py: the shipped
// models' weights, real MNIST digits, a few what-ifs and the reference's traces, which tests/test_web_recurrence.py
// writes into the folder $RNNVIZ_TRACE_FIXTURES (and then runs this). Every quantity at every step may differ from
// the reference's by at most TOLERANCE more than the reference's own rounding error there (the reference computes in
// float32; the same code in float64 is in the fixtures too), and the answer must be the same.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { GATE_NAMES, read } from '../../rnnviz/web/recurrence.js';
import { parseWeights } from '../../rnnviz/web/weights.js';

const TOLERANCE = 1e-5;
const folder = process.env.RNNVIZ_TRACE_FIXTURES;
const manifest = folder && JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8'));
const skip = !folder && 'set RNNVIZ_TRACE_FIXTURES to a folder that tests/test_web_recurrence.py wrote';

function floats(file, type = Float32Array) {  // a fixture's array
  const bytes = readFileSync(join(folder, file));
  return new type(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

function ofTrace(trace, quantity) {  // one of a trace's quantities, by the fixture's name for it
  return trace.gates[quantity] ?? trace[quantity];
}

function compare(ours, reference, exact, width) {
  // {beyond, step, index, values, plain, own}: the most that |ours - reference| exceeds the reference's own rounding
  // error |reference - exact|, where, and [ours, reference, exact] there; the largest |ours - reference| and the
  // largest rounding error. NaN if any is
  assert.equal(ours.length, reference.length);
  const found = { beyond: -Infinity, step: null, index: null, values: null, plain: 0, own: 0 };
  for (let i = 0; i < ours.length; i++) {
    const plain = Math.abs(ours[i] - reference[i]), own = Math.abs(reference[i] - exact[i]), beyond = plain - own;
    found.plain = Math.max(found.plain, plain);
    found.own = Math.max(found.own, own);
    if (!(beyond <= found.beyond)) {
      Object.assign(found, { beyond, step: Math.floor(i / width) + 1, index: i % width,
        values: [ours[i], reference[i], exact[i]] });
    }
    if (Number.isNaN(beyond)) break;
  }
  return found;
}

function answer(trace) {  // the class of the largest probability after the last step
  const last = trace.probs.subarray((trace.steps - 1) * 10);
  return last.indexOf(Math.max(...last));
}

function checkRun(run, model, digits) {  // every digit of the run, read and compared: the largest differences
  const arrays = Object.entries(run.quantities).map(([name, { file, exact, shape: [, steps, width] }]) =>
    ({ name, width, size: steps * width, reference: floats(file), exact: floats(exact, Float64Array) }));
  const largest = { plain: 0, own: 0, beyond: -Infinity };
  run.digits.forEach((digit, n) => {
    const trace = read(model, digits.subarray(digit * 784, (digit + 1) * 784), run.whatIf);
    assert.deepEqual(Object.keys(trace.gates), GATE_NAMES[run.cell]);
    assert.equal(trace.cell_state !== null, 'cell_state' in run.quantities, `${run.name}: cell state`);
    for (const { name, width, size, reference, exact } of arrays) {
      const at = [n * size, (n + 1) * size];
      const found = compare(ofTrace(trace, name), reference.subarray(...at), exact.subarray(...at), width);
      assert.ok(found.beyond <= TOLERANCE, `${run.name}, digit ${digit}: ${name} differs from the reference by `
        + `${found.beyond} more than the reference's own rounding error, at step ${found.step}, index ${found.index} `
        + `(ours, the reference's, exact: ${found.values.join(', ')})`);
      largest.plain = Math.max(largest.plain, found.plain);
      largest.own = Math.max(largest.own, found.own);
      largest.beyond = Math.max(largest.beyond, found.beyond);
    }
    assert.equal(answer(trace), run.predictions[n], `${run.name}, digit ${digit}: the answer`);
  });
  return largest;
}

test('the weights file holds each model of the fixtures', { skip }, () => {
  const models = parseWeights(new Uint8Array(readFileSync(join(folder, manifest.weights))));
  for (const run of manifest.runs) {
    const model = models.get(run.model);
    assert.ok(model, `${run.name}: model ${run.model} is not in the weights`);
    assert.deepEqual([model.cell, model.units], [run.cell, run.units], run.name);
  }
});

test('every gate, state and probability at every step is the reference\'s, and so is the answer', { skip }, async t => {
  const models = parseWeights(new Uint8Array(readFileSync(join(folder, manifest.weights))));
  const digits = floats(manifest.digits.file);
  for (const run of manifest.runs) {
    await t.test(run.name, t => {
      const { plain, own, beyond } = checkRun(run, models.get(run.model), digits);
      t.diagnostic(`${run.digits.length} digits; largest difference from the reference ${plain.toExponential(2)}, `
        + `its own largest rounding error ${own.toExponential(2)}, the most beyond that ${beyond.toExponential(2)}`);
    });
  }
});
