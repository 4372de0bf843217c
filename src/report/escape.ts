// Everything that reaches the HTML from a plan or a simulation passes through here: text and
// attribute values are escaped, numbers are made finite, so a plan cannot inject markup.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML/SVG element content and for quoted attribute values alike. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => ENTITIES[ch]);
}

/** A coordinate or size for an SVG attribute: finite, at most two decimals. */
export function num(value: number): string {
  if (!Number.isFinite(value)) return '0';
  return String(Math.round(value * 100) / 100);
}

/** A human number: three significant digits, no exponent for everyday magnitudes. */
export function fmt(value: number, unit = ''): string {
  if (!Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  const text = abs !== 0 && abs < 0.001 ? value.toExponential(1) : String(Number(value.toFixed(digits)));
  return unit ? `${text} ${unit}` : text;
}

export function fmtBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return fmt(v, units[i]);
}

export function pct(fraction: number): string {
  return Number.isFinite(fraction) ? `${Math.round(fraction * 100)}%` : '–';
}

/** Builds an element; attribute values are escaped, children are trusted markup. */
export function el(tag: string, attrs: Record<string, string | number | undefined>, ...children: string[]): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? num(v) : esc(v)}"`)
    .join('');
  return children.length === 0 ? `<${tag}${a}/>` : `<${tag}${a}>${children.join('')}</${tag}>`;
}
