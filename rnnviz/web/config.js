// The sizes every module of the browser's reading shares; their home is rnnviz/config.py (the tests check
// that they agree).

export const ROWS = 28, COLS = 28;  // the image the network reads: ROWS rows (steps) of COLS pixels
export const CLASSES = 10;  // digits
export const MAX_BRUSH = 40;  // px, the widest brush the canvas offers
