/** pino's numeric levels as shown in text lines (padded to one width). */
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

/** Fields every line already shows in its own place, or that carry nothing for a reader. */
const SHOWN = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'v']);

const two = (n: number) => String(n).padStart(2, '0');

/** Local wall-clock time `HH:MM:SS.mmm` of an epoch-ms instant. */
function clock(ms: number): string {
  const d = new Date(ms);
  const millis = String(d.getMilliseconds()).padStart(3, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${millis}`;
}

/** A field value as written after `key=`: bare when it is one plain word, else JSON. */
function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** An error field: its message inline, its stack (indented) on the following lines. */
function errorField(key: string, err: Record<string, unknown>): { inline: string; below: string[] } {
  const message = typeof err.message === 'string' ? err.message : value(err);
  const stack = typeof err.stack === 'string' ? err.stack.split('\n').slice(1) : [];
  return { inline: `${key}=${value(message)}`, below: stack.map((l) => `    ${l.trim()}`) };
}

/**
 * One pino JSON line as a readable line: `HH:MM:SS.mmm LEVEL message key=value …` in local time, with an
 * error's stack indented below. A line that is not a pino object is returned unchanged.
 */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return line;
    entry = parsed as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof entry.level === 'number' ? (LEVELS[entry.level] ?? String(entry.level)) : 'INFO ';
  const time = typeof entry.time === 'number' ? clock(entry.time) : '--:--:--.---';
  const parts = [time, level];
  if (typeof entry.msg === 'string' && entry.msg !== '') parts.push(entry.msg);
  const below: string[] = [];
  for (const [key, v] of Object.entries(entry)) {
    if (SHOWN.has(key) || v === undefined) continue;
    if ((key === 'err' || key === 'error') && v !== null && typeof v === 'object') {
      const e = errorField(key, v as Record<string, unknown>);
      parts.push(e.inline);
      below.push(...e.below);
    } else {
      parts.push(`${key}=${value(v)}`);
    }
  }
  return [parts.join(' '), ...below].join('\n');
}

/** Where text lines go (process.stdout in the server). */
export interface LineSink {
  write(chunk: string): unknown;
}

/** A pino destination that writes each entry as a text line (`formatLogLine`) to `out`. */
export function createTextLogDestination(out: LineSink): { write(chunk: string): void } {
  return {
    write(chunk) {
      for (const line of chunk.split('\n')) if (line !== '') out.write(`${formatLogLine(line)}\n`);
    },
  };
}
