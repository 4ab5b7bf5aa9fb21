// Whether the server's views of the drawing are in sight: the tab's views the server makes of it (the digits
// alike, the downloads, Compare, Insight) stand in containers whose key the live view's data names. A pause in
// drawing makes them again only while one is in sight; else once one comes into sight (the page scrolled or
// resized), so that the server works for them only when someone can see them.

const inView = element => {
  const box = element.getBoundingClientRect();
  return box.top < innerHeight && box.bottom >= 0 && box.left < innerWidth && box.right >= 0;
};

export function inSight(key) {  // whether any container keyed `key` is in the window now
  return [...document.querySelectorAll(`.st-key-${CSS.escape(key)}`)].some(inView);
}

export function whenInSight(key, then) {  // then() once, when a container keyed `key` comes into sight; cancel()
  let frame = 0;
  const look = () => {
    frame = 0;
    if (inSight(key)) { cancel(); then(); }
  };
  const soon = () => { if (!frame) frame = requestAnimationFrame(look); };  // at most once per frame
  const events = [['scroll', {capture: true, passive: true}], ['resize', {passive: true}]];
  const moved = new ResizeObserver(soon);  // the page grew or shrank above them (an expander, the lesson)
  const remade = event => { if (event.target.closest?.('[role="tab"]')) cancel(); };  // a tab opened: the server
  const cancel = () => {  // made its views anew, of the drawing it has
    cancelAnimationFrame(frame);
    moved.disconnect();
    removeEventListener('click', remade, true);
    for (const [name, options] of events) removeEventListener(name, soon, options);
  };
  for (const [name, options] of events) addEventListener(name, soon, options);
  addEventListener('click', remade, true);
  moved.observe(document.body);
  return cancel;
}
