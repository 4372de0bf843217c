// A small proportional bitmap font (drawn for this project) and a text renderer, used to make
// test and benchmark images with known text for the PaddleOCR pipeline. Glyphs sit on a grid
// 7 rows above the baseline and 2 below; '#' is ink. They are not drawn as square pixels but as
// anti-aliased strokes joining neighbouring ink cells: PP-OCR was trained on printed fonts, and
// with hard staircase edges it misreads V as Y and S as 5. With scale 4 or 5 (cap height 28–35
// px) and 0.8-cell strokes, PP-OCRv4 reads every test string exactly.
import type { RgbImage } from '../media.js';

const GLYPH_ROWS = 9;
const DEFAULT_STROKE_CELLS = 0.8;

const GLYPHS: Record<string, readonly string[]> = {
  A: ['..#..', '.#.#.', '#...#', '#...#', '#####', '#...#', '#...#'],
  B: ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['###..', '#..#.', '#...#', '#...#', '#...#', '#..#.', '###..'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['###', '.#.', '.#.', '.#.', '.#.', '.#.', '###'],
  J: ['....#', '....#', '....#', '....#', '#...#', '#...#', '.###.'],
  K: ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '##..#', '##..#', '#.#.#', '#..##', '#..##', '#...#'],
  O: ['.####.', '#....#', '#....#', '#....#', '#....#', '#....#', '.####.'],
  P: ['####.', '#...#', '#...#', '#...#', '####.', '#....', '#....'],
  Q: ['.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#'],
  R: ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'],
  S: ['.###.', '#...#', '#....', '.###.', '....#', '#...#', '.###.'],
  T: ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  U: ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  V: ['#...#', '#...#', '#...#', '#...#', '.#.#.', '.#.#.', '..#..'],
  W: ['#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.'],
  X: ['#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#'],
  Y: ['#...#', '#...#', '.#.#.', '.#.#.', '..#..', '..#..', '..#..'],
  Z: ['#####', '....#', '...#.', '..#..', '.#...', '#....', '#####'],
  a: ['.....', '.....', '.###.', '....#', '.####', '#...#', '.####'],
  b: ['#....', '#....', '####.', '#...#', '#...#', '#...#', '####.'],
  c: ['....', '....', '.###', '#...', '#...', '#...', '.###'],
  d: ['....#', '....#', '.####', '#...#', '#...#', '#...#', '.####'],
  e: ['.....', '.....', '.###.', '#...#', '#####', '#....', '.###.'],
  f: ['..##', '.#..', '.#..', '###.', '.#..', '.#..', '.#..'],
  g: ['.....', '.....', '.####', '#...#', '#...#', '#...#', '.####', '....#', '.###.'],
  h: ['#....', '#....', '#.##.', '##..#', '#...#', '#...#', '#...#'],
  i: ['.#.', '...', '##.', '.#.', '.#.', '.#.', '###'],
  j: ['..#', '...', '.##', '..#', '..#', '..#', '..#', '..#', '##.'],
  k: ['#...', '#...', '#..#', '#.#.', '##..', '#.#.', '#..#'],
  l: ['##.', '.#.', '.#.', '.#.', '.#.', '.#.', '###'],
  m: ['.......', '.......', '###.##.', '#..#..#', '#..#..#', '#..#..#', '#..#..#'],
  n: ['.....', '.....', '#.##.', '##..#', '#...#', '#...#', '#...#'],
  o: ['.....', '.....', '.###.', '#...#', '#...#', '#...#', '.###.'],
  p: ['.....', '.....', '####.', '#...#', '#...#', '#...#', '####.', '#....', '#....'],
  q: ['.....', '.....', '.####', '#...#', '#...#', '#...#', '.####', '....#', '....#'],
  r: ['.....', '.....', '#.##.', '##..#', '#....', '#....', '#....'],
  s: ['.....', '.....', '.####', '#....', '.###.', '....#', '####.'],
  t: ['.#...', '.#...', '####.', '.#...', '.#...', '.#..#', '..##.'],
  u: ['.....', '.....', '#...#', '#...#', '#...#', '#..##', '.##.#'],
  v: ['.....', '.....', '#...#', '#...#', '.#.#.', '.#.#.', '..#..'],
  w: ['.....', '.....', '#...#', '#...#', '#.#.#', '#.#.#', '.#.#.'],
  x: ['.....', '.....', '#...#', '.#.#.', '..#..', '.#.#.', '#...#'],
  y: ['.....', '.....', '#...#', '#...#', '#...#', '#...#', '.####', '....#', '.###.'],
  z: ['.....', '.....', '#####', '...#.', '..#..', '.#...', '#####'],
  '0': ['.##.', '#..#', '#..#', '#..#', '#..#', '#..#', '.##.'],
  '1': ['..#..', '.##..', '#.#..', '..#..', '..#..', '..#..', '#####'],
  '2': ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  '3': ['#####', '...#.', '..#..', '...#.', '....#', '#...#', '.###.'],
  '4': ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  '5': ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  '6': ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
  '7': ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  '8': ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  '9': ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
  ' ': ['....'],
  '.': ['..', '..', '..', '..', '..', '##', '##'],
  ',': ['..', '..', '..', '..', '..', '##', '##', '.#', '#.'],
  '-': ['....', '....', '....', '####'],
  ':': ['..', '##', '##', '..', '..', '##', '##'],
  '!': ['#', '#', '#', '#', '#', '.', '#'],
  '?': ['.###.', '#...#', '....#', '...#.', '..#..', '.....', '..#..'],
};

export interface RenderTextOptions {
  /** Pixels per font cell; the cap height is 7 cells. */
  scale: number;
  /** Blank columns between glyphs, in font cells. */
  letterSpacingCells?: number;
  /** White space around the text, in font cells. */
  marginCells?: number;
  /** Stroke width in font cells (1 fills a cell); 0.8 reads best with PP-OCRv4. */
  strokeCells?: number;
}

/** Stroke segments through the centres of 8-adjacent ink cells, in cell units. */
function glyphSegments(glyph: readonly string[]): [number, number, number, number][] {
  const ink = (r: number, c: number): boolean => glyph[r]?.[c] === '#';
  const segments: [number, number, number, number][] = [];
  glyph.forEach((row, r) => {
    for (let c = 0; c < row.length; c++) {
      if (!ink(r, c)) continue;
      segments.push([c + 0.5, r + 0.5, c + 0.5, r + 0.5]);
      if (ink(r, c + 1)) segments.push([c + 0.5, r + 0.5, c + 1.5, r + 0.5]);
      if (ink(r + 1, c)) segments.push([c + 0.5, r + 0.5, c + 0.5, r + 1.5]);
      // Diagonals only where no orthogonal path exists: they turn staircases into slanted
      // strokes without filling the inside of corners.
      if (ink(r + 1, c + 1) && !ink(r, c + 1) && !ink(r + 1, c)) segments.push([c + 0.5, r + 0.5, c + 1.5, r + 1.5]);
      if (ink(r + 1, c - 1) && !ink(r, c - 1) && !ink(r + 1, c)) segments.push([c + 0.5, r + 0.5, c - 0.5, r + 1.5]);
    }
  });
  return segments;
}

function distanceToSegment(px: number, py: number, [x0, y0, x1, y1]: [number, number, number, number]): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const lengthSq = dx * dx + dy * dy;
  const t = lengthSq === 0 ? 0 : Math.min(1, Math.max(0, ((px - x0) * dx + (py - y0) * dy) / lengthSq));
  return Math.hypot(px - (x0 + t * dx), py - (y0 + t * dy));
}

/**
 * One line of dark text on white as an RGB image. Each glyph is drawn as strokes of width
 * `strokeCells` joining its ink cells, with anti-aliased edges. Characters outside the font are
 * an error.
 */
export function renderText(text: string, options: RenderTextOptions): RgbImage {
  const { scale } = options;
  const margin = options.marginCells ?? 6;
  const radius = (options.strokeCells ?? DEFAULT_STROKE_CELLS) / 2;
  const glyphs = [...text].map((ch) => {
    const g = GLYPHS[ch];
    if (g === undefined) throw new Error(`renderText: no glyph for ${JSON.stringify(ch)}`);
    return g;
  });
  const spacing = options.letterSpacingCells ?? 1;
  const cellsWide = glyphs.reduce((w, g) => w + g[0].length + spacing, 0) - spacing + 2 * margin;
  const width = cellsWide * scale;
  const height = (GLYPH_ROWS + 2 * margin) * scale;
  const ink = new Float32Array(width * height);
  let cellX = margin;
  for (const glyph of glyphs) {
    const segments = glyphSegments(glyph);
    const x0 = Math.floor((cellX - 1) * scale);
    const x1 = Math.ceil((cellX + glyph[0].length + 1) * scale);
    const y0 = Math.floor((margin - 1) * scale);
    const y1 = Math.ceil((margin + GLYPH_ROWS + 1) * scale);
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const cx = (x + 0.5) / scale - cellX;
        const cy = (y + 0.5) / scale - margin;
        const d = Math.min(...segments.map((s) => distanceToSegment(cx, cy, s)));
        const coverage = Math.min(1, Math.max(0, (radius - d) * scale + 0.5));
        ink[y * width + x] = Math.max(ink[y * width + x], coverage);
      }
    }
    cellX += glyph[0].length + spacing;
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.fill(Math.round(255 * (1 - ink[i])), i * 3, i * 3 + 3);
  return { width, height, rgb };
}

/** Several lines stacked vertically (left-aligned), for multi-box detection tests. */
export function renderLines(lines: readonly string[], options: RenderTextOptions): RgbImage {
  const rendered = lines.map((line) => renderText(line, options));
  const width = Math.max(...rendered.map((r) => r.width));
  const height = rendered.reduce((h, r) => h + r.height, 0);
  const rgb = new Uint8Array(width * height * 3).fill(255);
  let y0 = 0;
  for (const r of rendered) {
    for (let y = 0; y < r.height; y++) rgb.set(r.rgb.subarray(y * r.width * 3, (y + 1) * r.width * 3), (y0 + y) * width * 3);
    y0 += r.height;
  }
  return { width, height, rgb };
}
