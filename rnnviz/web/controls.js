// The controls a view shares: one stepper (slider, ▶ Play, keys) that drives it, and its "Copy a link" button.

import { element } from './draw.js';

const STEP_MS = 200;  // Play: one row per STEP_MS

export function stepper(parent, steps, view, show) {
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

export function linkButton(parent, view, extra = () => ({})) {
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
