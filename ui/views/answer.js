// The answer beside the prediction: the 28 x 28 image the network read and the class probabilities after the
// last row, drawn without a charting library so that the page's first screen loads none. Its data:
// rnnviz/views.py `answer`. Drawn with ui/views/draw.js.

function buildAnswer(root, data, view, tables) {
  root.replaceChildren();
  root.dataset.view = 'answer';
  const seen = element('figure', 'seen', root);
  seen.appendChild(offscreen(data.cols, data.rows, bytes(data.image), tables.image));
  element('figcaption', '', seen, data.seen);
  const column = element('div', 'bars', root);
  probabilityBars(column, data.title)(data.probs, data.prediction);
  element('p', 'caption', column, data.title);
}

export default function mountAnswer(component) {
  return mount(component, buildAnswer);
}
