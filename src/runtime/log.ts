// Structured logs of the serving process: one event per line, either a JSON object
// (`--log-format json`: {"time","level","event",...fields}) or a readable line
// (`12:00:01.234 INFO  executor.ready unit=llm@local:tp1 replica=0 pid=4242`).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function textValue(v: unknown): string {
  const s = typeof v === 'string' ? v : v instanceof Error ? v.message : JSON.stringify(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

export function formatLogLine(format: LogFormat, time: Date, level: LogLevel, event: string, fields: Record<string, unknown> = {}): string {
  if (format === 'json') {
    const clean = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Error ? v.message : v]));
    return JSON.stringify({ time: time.toISOString(), level, event, ...clean });
  }
  const kv = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${textValue(v)}`)
    .join(' ');
  return `${time.toISOString().slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${event}${kv ? ' ' + kv : ''}`;
}

export function createLogger(options: { format: LogFormat; level?: LogLevel; write?: (line: string) => void; now?: () => Date }): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = options.now ?? (() => new Date());
  const at =
    (level: LogLevel) =>
    (event: string, fields?: Record<string, unknown>): void => {
      if (ORDER[level] >= min) write(formatLogLine(options.format, now(), level, event, fields));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
