/**
 * Rendering figure specs: vega-lite → vega → SVG with vega's headless `View` (no browser, no canvas), and
 * SVG → PNG with resvg (system fonts).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';

/** Font stack of every figure: DejaVu (Debian's fonts-dejavu-core) first, then common fallbacks. */
export const FIGURE_FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

/** Shared vega-lite config: font, white background, readable sizes. */
export const FIGURE_CONFIG = {
  font: FIGURE_FONT,
  background: 'white',
  title: { fontSize: 13, subtitleFontSize: 11, anchor: 'start' as const },
  axis: { labelFontSize: 10, titleFontSize: 11 },
  legend: { labelFontSize: 10, titleFontSize: 11 },
  header: { labelFontSize: 11, titleFontSize: 11 },
};

/** Renders a vega-lite spec to an SVG string (headless: `renderer: 'none'`). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT_DIRS = ['/usr/share/fonts', '/usr/local/share/fonts', '/System/Library/Fonts', '/Library/Fonts', 'C:\\Windows\\Fonts'];

/** Whether any font file (ttf, otf, ttc) is found in the usual system font folders (searched 4 levels deep). */
export function hasSystemFonts(dirs: readonly string[] = FONT_DIRS): boolean {
  const search = (dir: string, depth: number): boolean => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    for (const e of entries) {
      if (e.isFile() && /\.(ttf|otf|ttc)$/i.test(e.name)) return true;
      if (e.isDirectory() && depth > 0 && search(join(dir, e.name), depth - 1)) return true;
    }
    return false;
  };
  return dirs.some((d) => search(d, 4));
}

/** Rasterises an SVG to PNG at `scale` (default 2 for sharp text) with the system fonts. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
