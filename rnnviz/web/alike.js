// Inspect's training digits alike: for the answer and the runner-up, the training digits whose final state is
// nearest to the drawing's, nearest first, each with its distance. Laid out once, then repainted in place at
// each drawing. Its data: rnnviz/browser_data.py `alike`. Drawn with draw.js.

import { bytes } from './decode.js';
import { element, offscreen } from './draw.js';
import { mount } from './mount.js';

function buildAlike(root, data, view, tables) {
  root.replaceChildren();
  root.dataset.view = 'alike';
  const caption = element('p', 'caption', root);
  const side = data.cols * data.rows;
  const groups = data.groups.map(group => {
    const box = element('section', 'group', root);
    const head = element('p', 'head', box), strip = element('div', 'strip', box);
    const digits = group.distances.map(() => {
      const digit = element('figure', '', strip);
      const image = offscreen(data.cols, data.rows, new Uint8Array(side), tables.image);
      digit.appendChild(image);
      return {image, distance: element('figcaption', '', digit)};
    });
    return {box, head, digits};
  });
  const load = next => {
    caption.textContent = next.caption;
    next.groups.forEach((group, g) => {
      const {box, head, digits} = groups[g], pixels = bytes(group.images);
      box.dataset.digit = group.digit;
      head.replaceChildren(element('b', '', null, String(group.digit)),
                           ` (${Math.round(group.probability * 100)}%): its nearest training ${group.digit}s`);
      digits.forEach(({image, distance}, i) => {
        image.set(pixels.subarray(i * side, (i + 1) * side));
        distance.textContent = group.distances[i].toFixed(1);
      });
    });
  };
  load(data);
  return load;
}

export default function mountAlike(component) {
  return mount(component, buildAlike, data => data.groups.map(group => group.distances.length).join(' '));
}
