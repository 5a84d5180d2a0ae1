import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createTextLogDestination, formatLogLine } from './log-text.js';

const T = new Date(2025, 2, 12, 9, 5, 7, 42).getTime();

describe('formatLogLine', () => {
  it('writes time, level and message, then the other fields as key=value', () => {
    const line = JSON.stringify({ level: 40, time: T, msg: 'redeploy failed', app: 'echo', n: 3, ok: false });
    expect(formatLogLine(line)).toBe('09:05:07.042 WARN  redeploy failed app=echo n=3 ok=false');
  });

  it('quotes values with spaces or quotes and writes objects as JSON', () => {
    const line = JSON.stringify({
      level: 30,
      time: T,
      msg: 'm',
      reason: 'exited with code 1',
      labels: { a: 1 },
    });
    expect(formatLogLine(line)).toBe('09:05:07.042 INFO  m reason="exited with code 1" labels={"a":1}');
  });

  it("puts an error's message inline and its stack below", () => {
    const err = {
      type: 'Error',
      message: 'disk full',
      stack: 'Error: disk full\n    at write (store.js:1:2)',
    };
    const line = JSON.stringify({ level: 50, time: T, err, msg: 'flush failed' });
    expect(formatLogLine(line).split('\n')).toEqual([
      '09:05:07.042 ERROR flush failed err="disk full"',
      '    at write (store.js:1:2)',
    ]);
  });

  it('leaves anything that is not a JSON object unchanged', () => {
    expect(formatLogLine('plain words')).toBe('plain words');
    expect(formatLogLine('[1,2]')).toBe('[1,2]');
  });
});

describe('createTextLogDestination', () => {
  it("turns pino's output into text lines", () => {
    const out: string[] = [];
    const logger = pino({ base: undefined }, createTextLogDestination({ write: (s) => out.push(s) }));
    logger.info('runners are sandboxed');
    logger.warn({ app: 'alice/echo' }, 'not started');
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}runners are sandboxed\n$/);
    expect(out[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}not started app=alice\/echo\n$/);
  });
});
