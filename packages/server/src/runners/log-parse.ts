/** Normalised log levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One runner output line after parsing. */
export interface ParsedLogLine {
  level: LogLevel;
  message: string;
  /** The request the app says the line belongs to, when it logged JSON with `request_id`. */
  requestId: string | null;
  /** Extra string labels from a JSON line's `labels` object. */
  labels: Record<string, string> | null;
}

const LEVELS: Record<string, LogLevel> = {
  trace: 'debug',
  debug: 'debug',
  info: 'info',
  notice: 'info',
  log: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'error',
  critical: 'error',
  crit: 'error',
  exception: 'error',
};

/** pino/bunyan numeric levels. */
function numericLevel(n: number): LogLevel {
  if (n >= 50) return 'error';
  if (n >= 40) return 'warn';
  if (n >= 30) return 'info';
  return 'debug';
}

/** Maps any level spelling (`WARNING`, `Info`, 40 …) to a normalised level, or null when unknown. */
export function normaliseLevel(value: unknown): LogLevel | null {
  if (typeof value === 'number') return numericLevel(value);
  if (typeof value !== 'string') return null;
  return LEVELS[value.toLowerCase()] ?? null;
}

/**
 * Python's default `logging` format (`LEVEL:logger:message`) and uvicorn's (`LEVEL:     message`) write
 * every record to stderr; treating all of stderr as errors would flag routine progress lines, so a line
 * starting with a known level name and a colon takes that level. Other stderr lines are errors.
 */
const PREFIX = /^(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL):/;

/**
 * Parses one runner output line: a JSON object with `message` (or `msg`) is structured (its `level`,
 * `request_id` and string `labels` are kept); other lines are plain text, info on stdout and error on
 * stderr unless they carry a level prefix.
 */
export function parseLogLine(stream: 'stdout' | 'stderr', line: string): ParsedLogLine {
  if (line.charCodeAt(0) === 123 /* { */) {
    const parsed = parseJsonLine(stream, line);
    if (parsed) return parsed;
  }
  const fallback: LogLevel = stream === 'stdout' ? 'info' : 'error';
  const prefix = PREFIX.exec(line);
  const level = prefix ? (normaliseLevel(prefix[1]) ?? fallback) : fallback;
  return { level, message: line, requestId: null, labels: null };
}

function parseJsonLine(stream: 'stdout' | 'stderr', line: string): ParsedLogLine | null {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return null;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return null;
  const rec = obj as Record<string, unknown>;
  const message = rec.message ?? rec.msg;
  if (typeof message !== 'string') return null;
  const level = normaliseLevel(rec.level) ?? (stream === 'stdout' ? 'info' : 'error');
  const requestId = typeof rec.request_id === 'string' && rec.request_id ? rec.request_id : null;
  return { level, message, requestId, labels: stringLabels(rec.labels) };
}

function stringLabels(value: unknown): Record<string, string> | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const labels: Record<string, string> = {};
  let any = false;
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string') labels[key] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') labels[key] = String(v);
    else continue;
    any = true;
  }
  return any ? labels : null;
}
