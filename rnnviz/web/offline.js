// The page that needs no server and no network (ui/views `offline_page_html`): a digit drawn on sketch.js's
// surface is read as the pen moves by the live view (the model chosen here) and raced by every model (the
// compare view, under the what-if chosen here). Every model's weights are in the page (reading.js).

import mountView from './views.js';
import { element } from './draw.js';
import { useColours } from './palette.js';
import { drawingSurface } from './sketch.js';

function choice(parent, label, names, onChoose) {  // a labelled list of `names`; onChoose(the index chosen)
  const box = element('label', 'choice', parent);
  element('span', '', box, label);
  const select = element('select', '', box);
  names.forEach((name, index) => { element('option', '', select, name).value = index; });
  select.onchange = () => onChoose(Number(select.value));
  return select;
}

function viewBox(parent, className) {  // where a view mounts: an element holding its `.view`
  const box = element('div', className, parent);
  element('div', 'view', box);
  return box;
}

export function offlinePage(main, page) {
  // page: {lives: the live view's data of each model, races: the race's data of each keep-gate choice (then each
  // band of blank rows), keepGate and blankRows: those choices' names, brush: the surface's, palette}
  const painted = data => ({...data, palette: page.palette});
  useColours(document.body, page.palette.colours);
  const reading = element('section', 'reading', main);
  const drawing = element('div', 'drawing', reading);
  const surface = drawingSurface(drawing, page.brush);
  const live = viewBox(reading, 'live');
  const showLive = index => mountView({data: {...painted(page.lives[index]), canvas: surface}, parentElement: live});
  choice(drawing, 'Model reading it', page.lives.map(data => data.name), showLive);

  const race = element('section', 'race', main);
  element('h2', '', race, 'The race: every model reads your digit, row by row');
  const whatIf = element('div', 'what-if', race);
  const compare = viewBox(race, 'compare');
  let gate = 0, band = 0;
  const showRace = () => mountView({data: painted(page.races[gate][band]), parentElement: compare});
  choice(whatIf, 'What if… the forget gate (LSTM) and update gate (GRU) were', page.keepGate,
         index => { gate = index; showRace(); });
  choice(whatIf, 'What if… these rows were blank', page.blankRows, index => { band = index; showRace(); });
  showLive(0);
  showRace();
}
