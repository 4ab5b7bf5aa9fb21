// What the server sends, decoded: base64 bytes; and numbers as indices into a colour table.

export function bytes(base64) {  // base64 -> Uint8Array
  const text = atob(base64), out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

export function toBytes(values, lo, hi) {  // numbers -> 0..255 over [lo, hi] (clipped): indices into a colour table
  const out = new Uint8ClampedArray(values.length), scale = 255 / (hi - lo);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] - lo) * scale;
  return out;
}
