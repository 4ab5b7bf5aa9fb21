// The palette in the browser: each view gets it with its data (rnnviz/figures/palette.py browser_palette):
// colour tables for the canvases, one colour per digit, and colours by role, which a view sets on its root as
// CSS custom properties (--rnnviz-<role>) for its CSS and its canvases.

import { bytes } from './decode.js';

export function lookupTables(palette) {  // the palette's colour tables (256 RGB colours each), highlight and digit colours
  return {state: bytes(palette.state), gate: bytes(palette.gate), image: bytes(palette.image),
          highlight: palette.colours.highlight, classes: palette.classes};
}

export function useColours(root, colours) {  // the palette's colours by role, as CSS custom properties of the view's root
  for (const [role, value] of Object.entries(colours)) root.style.setProperty(`--rnnviz-${role}`, value);
}

export function paletteColours(node, ...roles) {  // the palette's colours of these roles, as the view's root holds them
  const style = getComputedStyle(node);  // node: inside the view
  return roles.map(role => style.getPropertyValue(`--rnnviz-${role}`).trim());
}
