/** One Server-Sent Event as dispatched by the parser (comments and empty events are skipped). */
export interface SseEvent {
  /** The `event:` field, `message` when absent. */
  event: string;
  data: string;
  /** The last `id:` seen so far on this stream (the SSE "last event ID"), or null. */
  id: string | null;
}

/**
 * Incremental SSE parser following the WHATWG event-stream rules: feed it text chunks split anywhere
 * (even inside a CRLF), collect the dispatched events.
 */
export class SseParser {
  private buffer = '';
  private pendingCr = false;
  private event = '';
  private data: string[] = [];
  private hasData = false;
  /** The last event ID, kept across events as the spec requires. */
  lastEventId: string | null = null;
  /** The reconnection delay the server asked for with `retry:`, in milliseconds. */
  retryMs: number | null = null;

  /** Feeds a chunk and returns the events it completed. */
  push(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let text = chunk;
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const ev = this.line(this.buffer.slice(start, i));
      if (ev) out.push(ev);
      if (c === 13) {
        if (i + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string): SseEvent | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.hasData = true;
    } else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return null;
  }

  private dispatch(): SseEvent | null {
    const ev: SseEvent = {
      event: this.event || 'message',
      data: this.data.join('\n'),
      id: this.lastEventId,
    };
    const had = this.hasData;
    this.event = '';
    this.data = [];
    this.hasData = false;
    return had ? ev : null;
  }
}

/** Reads a byte stream as SSE events until it ends; a network failure is thrown to the caller. */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
  parser = new SseParser(),
): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    const rest = decoder.decode();
    if (rest) yield* parser.push(rest);
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}
