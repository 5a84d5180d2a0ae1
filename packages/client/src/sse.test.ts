import { describe, expect, it } from 'vitest';
import { readSse, SseParser } from './sse.js';

function parseAll(chunks: string[]) {
  const p = new SseParser();
  return chunks.flatMap((c) => p.push(c));
}

describe('SseParser', () => {
  it('parses data, event names, ids and multi-line data', () => {
    const events = parseAll(['id: 1\ndata: {"a":1}\n\n', 'event: error\ndata: line one\ndata: line two\n\n']);
    expect(events).toEqual([
      { event: 'message', data: '{"a":1}', id: '1' },
      { event: 'error', data: 'line one\nline two', id: '1' },
    ]);
  });

  it('skips comments and events without data', () => {
    expect(parseAll([': ping\n\n', ': connected\n\nid: 7\n\n', 'data: x\n\n'])).toEqual([
      { event: 'message', data: 'x', id: '7' },
    ]);
  });

  it('handles chunks split anywhere, including inside CRLF', () => {
    const text = 'id: 42\r\ndata: {"message":"héllo"}\r\n\r\ndata: second\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const events = parseAll([text.slice(0, cut), text.slice(cut)]);
      expect(events.map((e) => e.data)).toEqual(['{"message":"héllo"}', 'second']);
      expect(events[0]?.id).toBe('42');
    }
  });

  it('accepts bare CR line endings and fields without a space or value', () => {
    expect(parseAll(['data:a\rdata\r\r'])).toEqual([{ event: 'message', data: 'a\n', id: null }]);
  });

  it('records the retry delay and ignores a malformed one', () => {
    const p = new SseParser();
    p.push('retry: 1500\n\nretry: soon\n\n');
    expect(p.retryMs).toBe(1500);
  });

  it('keeps an event that is not yet terminated for the next chunk', () => {
    const p = new SseParser();
    expect(p.push('id: 3\ndata: partial')).toEqual([]);
    expect(p.push('\n\n')).toEqual([{ event: 'message', data: 'partial', id: '3' }]);
  });
});

describe('readSse', () => {
  it('decodes multi-byte characters split across chunks', async () => {
    const bytes = new TextEncoder().encode('data: ünïcödé\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const out = [];
    for await (const ev of readSse(body)) out.push(ev.data);
    expect(out).toEqual(['ünïcödé']);
  });
});
