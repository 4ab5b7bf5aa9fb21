// The page's one browser component (ui/views): each mount shows the view its data names, or, when its data
// is bytes, hands the models' weights to reading.js. One component, so that every view shares one reading.js:
// the weights arrive once and each drawing is read once per model.

import { addWeights } from './reading.js';
import mountLive from './live.js';
import mountInspect from './inspect.js';
import mountCompare from './compare.js';
import mountAlike from './alike.js';

const VIEWS = {live: mountLive, inspect: mountInspect, compare: mountCompare, alike: mountAlike};

export default function mountView(component) {
  if (component.data instanceof Uint8Array) {
    addWeights(component.data);
    return undefined;
  }
  return VIEWS[component.data.view](component);
}
