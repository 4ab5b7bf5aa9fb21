// The drawing library of the views: captioned canvases, heatmaps and line charts over the steps, the digit
// being read, colour bars, probability bars and a tooltip.

import { paletteColours } from './palette.js';

export function paint(imageData, values, offset, table) {  // imageData's pixels from values[offset ...] through a table
  const px = imageData.data;
  for (let i = 0; i < px.length / 4; i++) {
    const v = values[offset + i] * 3;
    px[i * 4] = table[v]; px[i * 4 + 1] = table[v + 1]; px[i * 4 + 2] = table[v + 2]; px[i * 4 + 3] = 255;
  }
  return imageData;
}

export function offscreen(width, height, values, table) {  // a canvas holding values as an image; set(values) repaints it
  const canvas = document.createElement('canvas');
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext('2d'), frame = context.createImageData(width, height);
  canvas.set = next => context.putImageData(paint(frame, next, 0, table), 0, 0);
  canvas.set(values);
  return canvas;
}

export function element(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

export function figure(parent, caption, width, height, title) {  // a captioned canvas; its 2D context
  const box = element('figure', '', parent);
  const canvas = element('canvas', '', box);
  canvas.width = width; canvas.height = height;
  element('figcaption', '', box, caption);
  if (title) box.title = title;
  return canvas.getContext('2d');
}

export function heatmap(parent, caption, colours, units, steps, table, title, zoom = 4) {
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

export function digitImage(parent, caption, pixels, cols, rows, table, title, zoom = 6) {
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

export function lineChart(parent, caption, lines, steps, lo, hi, labels, title, width = 300, height = 130) {
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

export function colourBar(parent, table, low, high, label) {
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

export function probabilityBars(parent, title) {
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

export function tooltip(parent) {  // show(text, x, y) near a point of `parent`; hide()
  const tip = element('div', 'tip', parent);
  tip.hidden = true;
  return {
    show(text, x, y) { tip.textContent = text; tip.hidden = false; tip.style.left = `${x + 12}px`; tip.style.top = `${y + 12}px`; },
    hide() { tip.hidden = true; },
  };
}
