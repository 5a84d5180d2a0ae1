import { describe, expect, it } from 'vitest';
import { normaliseLevel, parseLogLine } from './log-parse.js';

describe('parseLogLine', () => {
  it('parses JSON lines with level, message, request id and labels', () => {
    const line = JSON.stringify({
      level: 'WARNING',
      message: 'hi',
      request_id: 'r1',
      labels: { a: 1, b: 'x', c: {} },
    });
    expect(parseLogLine('stdout', line)).toEqual({
      level: 'warn',
      message: 'hi',
      requestId: 'r1',
      labels: { a: '1', b: 'x' },
    });
    expect(parseLogLine('stderr', '{"msg":"pino","level":50}')).toMatchObject({
      level: 'error',
      message: 'pino',
    });
  });

  it('falls back to the stream for JSON without a known level, and to plain text for other JSON', () => {
    expect(parseLogLine('stdout', '{"message":"m","level":"weird"}').level).toBe('info');
    expect(parseLogLine('stdout', '{"no":"message"}')).toMatchObject({
      level: 'info',
      message: '{"no":"message"}',
    });
    expect(parseLogLine('stderr', '{broken')).toMatchObject({ level: 'error', message: '{broken' });
  });

  it('maps plain lines: stdout info, stderr error unless a logging level prefix says otherwise', () => {
    expect(parseLogLine('stdout', 'hello').level).toBe('info');
    expect(parseLogLine('stderr', 'Traceback (most recent call last):').level).toBe('error');
    expect(parseLogLine('stderr', 'INFO:root:step 1').level).toBe('info');
    expect(parseLogLine('stderr', 'WARNING:root:careful').level).toBe('warn');
    expect(parseLogLine('stderr', 'INFO:     Uvicorn running').level).toBe('info');
    expect(parseLogLine('stdout', 'ERROR:x:y').level).toBe('error');
  });

  it('normalises level spellings', () => {
    expect(['trace', 'Debug', 'notice', 'warn', 'CRITICAL', 30, 40, 60].map(normaliseLevel)).toEqual([
      'debug',
      'debug',
      'info',
      'warn',
      'error',
      'info',
      'warn',
      'error',
    ]);
    expect(normaliseLevel(undefined)).toBeNull();
  });
});
