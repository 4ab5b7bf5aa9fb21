// The drawing library of rnnviz's browser views (Inspect, Compare, the class probabilities): decoding what
// the server sends, colour lookup tables and the palette's colours, heatmaps and line charts on canvases,
// probability bars, a tooltip, and one stepper (slider, ▶ Play, keys) that drives a view. It comes before each view's own code, in the
// page and in the offline replays (ui/views/__init__.py puts them together).

const STEP_MS = 200;  // Play: one row per STEP_MS
const views = new WeakMap();  // a view's element -> what it keeps across the server's runs (its step)

function bytes(base64) {  // base64 -> Uint8Array
  const text = atob(base64), out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function halves(base64) {  // base64 of little-endian float16 -> Float32Array
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

function toBytes(values, lo, hi) {  // numbers -> 0..255 over [lo, hi] (clipped): indices into a colour table
  const out = new Uint8ClampedArray(values.length), scale = 255 / (hi - lo);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] - lo) * scale;
  return out;
}

function lookupTables(palette) {  // the palette's colour tables (256 RGB colours each), highlight and digit colours
  return {state: bytes(palette.state), gate: bytes(palette.gate), image: bytes(palette.image),
          highlight: palette.colours.highlight, classes: palette.classes};
}

function useColours(root, colours) {  // the palette's colours by role, as CSS custom properties of the view's root
  for (const [role, value] of Object.entries(colours)) root.style.setProperty(`--rnnviz-${role}`, value);
}

function paletteColours(node, ...roles) {  // the palette's colours of these roles, as the view's root holds them
  const style = getComputedStyle(node);  // node: inside the view
  return roles.map(role => style.getPropertyValue(`--rnnviz-${role}`).trim());
}

function paint(imageData, values, offset, table) {  // imageData's pixels from values[offset ...] through a table
  const px = imageData.data;
  for (let i = 0; i < px.length / 4; i++) {
    const v = values[offset + i] * 3;
    px[i * 4] = table[v]; px[i * 4 + 1] = table[v + 1]; px[i * 4 + 2] = table[v + 2]; px[i * 4 + 3] = 255;
  }
  return imageData;
}

function offscreen(width, height, values, table) {  // a canvas holding values as an image; set(values) repaints it
  const canvas = document.createElement('canvas');
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext('2d'), frame = context.createImageData(width, height);
  canvas.set = next => context.putImageData(paint(frame, next, 0, table), 0, 0);
  canvas.set(values);
  return canvas;
}

function element(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function figure(parent, caption, width, height, title) {  // a captioned canvas; its 2D context
  const box = element('figure', '', parent);
  const canvas = element('canvas', '', box);
  canvas.width = width; canvas.height = height;
  element('figcaption', '', box, caption);
  if (title) box.title = title;
  return canvas.getContext('2d');
}

function heatmap(parent, caption, colours, units, steps, table, title, zoom = 4) {
  // units x steps colour indices (row-major); draw(step) veils the steps not read yet; set(colours) repaints
  const image = offscreen(steps, units, colours, table), [veil] = paletteColours(parent, 'veil');
  const context = figure(parent, caption, steps * zoom, units * 2, title);
  context.imageSmoothingEnabled = false;
  const draw = (step, highlight) => {
    context.drawImage(image, 0, 0, steps * zoom, units * 2);
    context.fillStyle = veil;
    context.fillRect(step * zoom, 0, (steps - step) * zoom, units * 2);
    context.fillStyle = highlight;
    context.fillRect(step * zoom - 1, 0, 1, units * 2);
  };
  return {canvas: context.canvas, draw, set: image.set};
}

function digitImage(parent, caption, pixels, cols, rows, table, title, zoom = 6) {
  // the digit; draw(step) boxes the row being read and darkens the rows not read yet; draw.set(pixels) repaints
  const image = offscreen(cols, rows, pixels, table), side = cols * zoom, [shade] = paletteColours(parent, 'shade');
  const context = figure(parent, caption, side, rows * zoom, title);
  context.imageSmoothingEnabled = false;
  const draw = (step, highlight) => {
    context.drawImage(image, 0, 0, side, rows * zoom);
    context.fillStyle = shade;
    context.fillRect(0, step * zoom, side, (rows - step) * zoom);
    context.strokeStyle = highlight; context.lineWidth = 2;
    context.strokeRect(1, (step - 1) * zoom, side - 2, zoom);
  };
  draw.set = image.set;
  return draw;
}

function lineChart(parent, caption, lines, steps, lo, hi, labels, title, width = 300, height = 130) {
  // lines [{values (steps), colour, width}] over the steps with the axes' end labels (labels: [low, high] of
  // the values); draw(step) marks the step; draw.set(lines, lo, hi, labels) draws other lines
  const drawn = document.createElement('canvas'), left = 30, pad = 8, bottom = 14;
  drawn.width = width; drawn.height = height;
  const [paper, axis, zeroLine, labelColour] = paletteColours(parent, 'paper', 'axis', 'zero-line', 'caption');
  const x = step => left + (step - 1) / (steps - 1) * (width - left - pad);
  const pen = drawn.getContext('2d');
  const path = (points, colour, lineWidth) => {
    pen.strokeStyle = colour; pen.lineWidth = lineWidth;
    pen.beginPath();
    points.forEach(([px, py], i) => (i ? pen.lineTo(px, py) : pen.moveTo(px, py)));
    pen.stroke();
  };
  const set = (lines, lo, hi, labels) => {
    const y = value => height - bottom - (Math.min(Math.max(value, lo), hi) - lo) / (hi - lo) * (height - bottom - pad);
    pen.fillStyle = paper;
    pen.fillRect(0, 0, width, height);
    path([[left, y(lo)], [width - pad, y(lo)]], axis, 1);  // the axes
    path([[left, y(lo)], [left, y(hi)]], axis, 1);
    if (lo < 0 && hi > 0) path([[left, y(0)], [width - pad, y(0)]], zeroLine, 1);
    pen.fillStyle = labelColour; pen.font = '10px sans-serif'; pen.textAlign = 'right'; pen.textBaseline = 'middle';
    pen.fillText(labels[0], left - 3, y(lo)); pen.fillText(labels[1], left - 3, y(hi));
    pen.textAlign = 'center'; pen.textBaseline = 'top';
    pen.fillText('1', x(1), height - bottom + 2); pen.fillText(`${steps} (row)`, x(steps) - 14, height - bottom + 2);
    for (const line of lines) path(Array.from(line.values, (value, t) => [x(t + 1), y(value)]), line.colour, line.width);
  };
  set(lines, lo, hi, labels);
  const context = figure(parent, caption, width, height, title);
  const draw = (step, highlight) => {
    context.drawImage(drawn, 0, 0);
    context.fillStyle = highlight;
    context.fillRect(Math.round(x(step)) - 1, pad, 2, height - bottom - pad);
  };
  draw.figure = context.canvas.parentElement;
  draw.set = set;
  return draw;
}

function colourBar(parent, table, low, high, label) {
  // a colour table as a strip (a CSS gradient), its ends labelled; set(low, high) relabels it
  const strip = element('div', 'colourbar', parent);
  const lowEnd = element('span', '', strip), ramp = element('div', 'ramp', strip), highEnd = element('span', '', strip);
  const stops = Array.from({length: 17}, (_, i) => {
    const at = Math.min(255, i * 16) * 3;
    return `rgb(${table[at]}, ${table[at + 1]}, ${table[at + 2]})`;
  });
  ramp.style.background = `linear-gradient(to right, ${stops.join(', ')})`;
  const set = (low, high) => { lowEnd.textContent = low; highEnd.textContent = `${high}  ${label}`; };
  set(low, high);
  return set;
}

function mostLikely(probs) {  // the digit of the highest probability
  let best = 0;
  probs.forEach((p, digit) => { if (p > probs[best]) best = digit; });
  return best;
}

function probabilityBars(parent, title) {
  // ten bars, one per digit; update(probs, best, finals) sets their heights (and marks the final ones)
  const bars = element('div', 'probs', parent);
  bars.title = title;
  const columns = [...Array(10).keys()].map(digit => {
    const column = element('div', 'col', bars);
    const well = element('div', 'well', column);
    const bar = element('div', 'bar', well), end = element('div', 'end', well);
    element('span', '', column, String(digit));
    return {column, bar, end};
  });
  return (probs, best, finals) => columns.forEach(({column, bar, end}, digit) => {
    bar.style.transform = `scaleY(${probs[digit]})`;
    bar.classList.toggle('best', digit === best);
    column.title = `digit ${digit}: ${(probs[digit] * 100).toFixed(1)}%`;
    end.style.bottom = finals ? `${finals[digit] * 100}%` : '';
    end.hidden = !finals;
  });
}

function tooltip(parent) {  // show(text, x, y) near a point of `parent`; hide()
  const tip = element('div', 'tip', parent);
  tip.hidden = true;
  return {
    show(text, x, y) { tip.textContent = text; tip.hidden = false; tip.style.left = `${x + 12}px`; tip.style.top = `${y + 12}px`; },
    hide() { tip.hidden = true; },
  };
}

function stepper(parent, steps, view, show) {
  // ▶ Play, the step slider and its readout, driving show(step); the step is kept in `view` across runs.
  // Returns go(step), which shows a step
  const controls = element('div', 'controls', parent);
  const play = element('button', 'play', controls, '▶ Play');
  const slider = element('input', 'step', controls);
  Object.assign(slider, {type: 'range', min: 1, max: steps, step: 1});
  slider.setAttribute('aria-label', 'Step: the row just read');
  const readout = element('span', 'readout', controls);
  const go = step => {
    view.step = step;
    slider.value = step;
    readout.textContent = `Row ${step} of ${steps}`;
    show(step);
  };
  const stop = () => {
    clearTimeout(view.timer);
    view.timer = null;
    play.textContent = '▶ Play';
  };
  const tick = () => {
    go(view.step + 1);
    if (view.step >= steps) stop(); else view.timer = setTimeout(tick, STEP_MS);
  };
  play.onclick = () => {
    if (view.timer) return stop();
    play.textContent = '❚❚ Pause';
    go(view.step >= steps ? 1 : view.step);
    view.timer = setTimeout(tick, STEP_MS);
  };
  slider.oninput = () => { stop(); go(Number(slider.value)); };
  Object.assign(view, {stop, go});
  go(Math.min(view.step ?? steps, steps));
  return go;
}

function linkButton(parent, view, extra = () => ({})) {
  // "Copy a link to this view": the page's address with the query the server made (view.link.query), the
  // step, and extra(view.link)'s values. The link is also shown, selected, to copy by hand; or, when the view
  // cannot travel in a link, the reason why (view.link.note)
  const box = element('div', 'link', parent);
  const button = element('button', 'copy-link', box, 'Copy a link to this view');
  const address = element('input', 'address', box);
  Object.assign(address, {readOnly: true, hidden: true});
  address.setAttribute('aria-label', 'The link to this view');
  const said = element('span', 'said', box);
  button.onclick = async () => {
    const link = view.link;
    address.hidden = Boolean(link.note);
    if (link.note) { said.textContent = link.note; return; }
    const query = new URLSearchParams(link.query);
    query.set(link.step, view.step);
    for (const [name, value] of Object.entries(extra(link))) query.set(name, value);
    address.value = `${location.origin}${location.pathname}?${query}`;
    address.select();
    try {
      await navigator.clipboard.writeText(address.value);
      said.textContent = 'Copied: anyone who opens it sees this view';
    } catch {
      said.textContent = 'Copy it from the box';  // no clipboard (a page served over plain http)
    }
  };
}

function mount(component, build, shape = () => null) {
  // Build the view when the server sends new data (its "id" changed), keeping the step it was at. A view
  // whose build returns an update(data, tables), sent data of the same shape(data), is updated in place
  // instead: its canvases repainted, not made again. A step the server asks for (data.step, once: a link or
  // the lesson) is shown whatever the view's step was
  const {data, parentElement} = component;
  let view = views.get(parentElement);
  if (!view) {
    view = {step: null, timer: null, id: null, shape: null, root: null, update: null, stop: () => {}, go: null};
    views.set(parentElement, view);
  }
  const asked = data?.step ?? null, moved = asked !== null && asked !== view.askedStep;
  view.askedStep = asked;
  view.link = data?.link;
  if (moved) {
    view.stop();
    view.step = asked;
  }
  if (data && data.id !== view.id) {
    view.id = data.id;
    const tables = data.palette ? lookupTables(data.palette) : null, form = shape(data);
    const root = parentElement.querySelector('.view');
    if (data.palette) useColours(root, data.palette.colours);
    if (view.update && form !== null && form === view.shape && root === view.root && root.firstChild) {
      view.update(data, tables);
    } else {
      view.stop();
      Object.assign(view, {shape: form, root, update: build(root, data, view, tables) || null});
    }
  } else if (moved && view.go) {
    view.go(view.step);
  }
  return () => view.stop();
}
