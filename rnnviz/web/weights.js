// The models' weights as the server sends them (rnnviz/browser_data.py `weights`): one safetensors file (an
// 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and byte range, then the
// float32 bytes) holding every model, each tensor named "<model id>/<PyTorch name>", and in the header's
// metadata the models' cell types and sizes.

const TENSORS = {  // our names -> PyTorch's (rnnviz/model.py RowReader's state dict)
  inputWeight: 'rnn.weight_ih_l0', hiddenWeight: 'rnn.weight_hh_l0', inputBias: 'rnn.bias_ih_l0',
  hiddenBias: 'rnn.bias_hh_l0', readoutWeight: 'readout.weight', readoutBias: 'readout.bias',
};

function header(bytes) {  // the JSON header, and where the tensors' bytes start
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(view.getBigUint64(0, true));
  return [JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))), 8 + length];
}

export function parseWeights(bytes) {
  // Uint8Array -> Map(model id -> {id, cell, units, and each tensor of TENSORS as a Float32Array})
  const [described, start] = header(bytes), models = new Map();
  const tensor = (id, name) => {
    const {dtype, data_offsets: [begin, end]} = described[`${id}/${name}`];
    if (dtype !== 'F32') throw new Error(`weights of model ${id} are ${dtype}, not float32`);
    return new Float32Array(bytes.slice(start + begin, start + end).buffer);  // a copy: aligned to 4 bytes
  };
  for (const [id, {cell_type, hidden_size}] of Object.entries(JSON.parse(described.__metadata__.models))) {
    const model = {id, cell: cell_type, units: hidden_size};
    for (const [ours, theirs] of Object.entries(TENSORS)) model[ours] = tensor(id, theirs);
    models.set(id, model);
  }
  return models;
}
