// Mounting a view in the page: its build once per new data (or an update in place), the step kept across the
// server's runs.

import { lookupTables, useColours } from './palette.js';

const views = new WeakMap();  // a view's element -> what it keeps across the server's runs (its step)

export function mount(component, build, shape = () => null) {
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
  view.setState = component.setStateValue;  // for a view that tells the server something (the live view)
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
