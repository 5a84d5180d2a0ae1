import { describe, expect, it } from 'vitest';
import { sseData } from './stream-reply.js';

describe('sseData', () => {
  it('collects the data of each dispatched event, joining multi-line data', () => {
    const text =
      'data: {"a":1}\n\n: ping\n\nevent: x\nid: 7\ndata: one\ndata: two\n\ndata:tight\r\n\r\ndata\n\n';
    expect(sseData(text)).toEqual(['{"a":1}', 'one\ntwo', 'tight', '']);
  });

  it('drops an event the stream never terminated', () => {
    expect(sseData('data: 1\n\ndata: 2\n')).toEqual(['1']);
  });
});
