// The answer beside the prediction: the 28 x 28 image the network read and the class probabilities after the
// last row, drawn without a charting library so that the page's first screen loads none. Laid out once, then
// repainted in place at each drawing. Its data: rnnviz/browser_data.py `answer`. Drawn with draw.js.

import { bytes } from './decode.js';
import { element, offscreen, probabilityBars } from './draw.js';
import { mount } from './mount.js';

function buildAnswer(root, data, view, tables) {
  root.replaceChildren();
  root.dataset.view = 'answer';
  const seen = element('figure', 'seen', root);
  const image = offscreen(data.cols, data.rows, bytes(data.image), tables.image);
  seen.appendChild(image);
  element('figcaption', '', seen, data.seen);
  const column = element('div', 'bars', root);
  const bars = probabilityBars(column, data.title);
  element('p', 'caption', column, data.title);
  const load = next => {
    image.set(bytes(next.image));
    bars(next.probs, next.prediction);
  };
  load(data);
  return load;
}

export default function mountAnswer(component) {
  return mount(component, buildAnswer, data => `${data.cols} ${data.rows}`);
}
