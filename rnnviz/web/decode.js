// What the server sends, decoded: base64 bytes, half-precision floats, and numbers as indices into a colour
// table (rnnviz/browser_data.py encodes them).

export function bytes(base64) {  // base64 -> Uint8Array
  const text = atob(base64), out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

export function halves(base64) {  // base64 of little-endian float16 -> Float32Array
  const raw = bytes(base64), out = new Float32Array(raw.length / 2);
  for (let i = 0; i < out.length; i++) {
    const half = raw[2 * i] | (raw[2 * i + 1] << 8);
    const exponent = (half >> 10) & 0x1f, fraction = half & 0x3ff;
    const size = exponent === 0 ? fraction * 2 ** -24 : exponent === 31 ? (fraction ? NaN : Infinity)
      : (1 + fraction / 1024) * 2 ** (exponent - 15);
    out[i] = half & 0x8000 ? -size : size;
  }
  return out;
}

export function toBytes(values, lo, hi) {  // numbers -> 0..255 over [lo, hi] (clipped): indices into a colour table
  const out = new Uint8ClampedArray(values.length), scale = 255 / (hi - lo);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] - lo) * scale;
  return out;
}
