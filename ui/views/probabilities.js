// The class probabilities beside the prediction: ten bars, the answer's highlighted, drawn without a charting
// library so that the page's first screen loads none. Drawn with ui/views/draw.js.

function buildProbabilities(root, data) {
  root.replaceChildren();
  root.dataset.view = 'probabilities';
  const bars = probabilityBars(root, data.title);
  const best = data.probs.indexOf(Math.max(...data.probs));
  bars(data.probs, best);
  element('p', 'caption', root, data.title);
}

export default function mountProbabilities(component) {
  return mount(component, buildProbabilities);
}
