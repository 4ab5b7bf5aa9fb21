// Inspect's training digits alike: for the answer and the runner-up, the training digits whose final state is
// nearest to the drawing's, nearest first, each with its distance. Its data: rnnviz/views.py `alike`. Drawn
// with ui/views/draw.js.

function buildAlike(root, data, view, tables) {
  root.replaceChildren();
  root.dataset.view = 'alike';
  element('p', 'caption', root, data.caption);
  const side = data.cols * data.rows;
  for (const group of data.groups) {
    const box = element('section', 'group', root);
    box.dataset.digit = group.digit;
    const head = element('p', 'head', box);
    element('b', '', head, String(group.digit));
    head.append(` (${Math.round(group.probability * 100)}%): its nearest training ${group.digit}s`);
    const strip = element('div', 'strip', box), pixels = bytes(group.images);
    group.distances.forEach((distance, i) => {
      const digit = element('figure', '', strip);
      digit.appendChild(offscreen(data.cols, data.rows, pixels.subarray(i * side, (i + 1) * side), tables.image));
      element('figcaption', '', digit, distance.toFixed(1));
    });
  }
}

export default function mountAlike(component) {
  return mount(component, buildAlike);
}
