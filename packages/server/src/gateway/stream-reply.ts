import { JsonText, type ResponseStream, type StreamControl } from '@hangar/core';
import type { GatewayReply } from './context.js';
import { isJsonType } from './invocation.js';

/** App response headers never copied to the caller (framing and `x-fal-served-from` are the gateway's own). */
export const SKIPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'content-length',
  'content-type',
  'date',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'x-fal-served-from',
]);

/**
 * A sync call's answer written to the caller as the runner streams it: the reply is taken over at the
 * runner's head, each chunk is written through (pausing the runner while the caller is slow), and the
 * first `cap` bytes are kept for the record. A caller that goes away before the end aborts the runner's
 * request. Unused (and costing nothing beyond this object) when the answer does not stream.
 */
export class StreamedReply implements ResponseStream {
  /** Set before dispatch: the id the caller sees in `x-fal-request-id`. */
  requestId = '';
  /** Set when the attempt starts: the runner sent as `x-fal-served-from`. */
  servedFrom: string | null = null;
  /** The answer is the caller's: the gateway must not send another. */
  opened = false;
  /** Bytes the runner streamed. */
  size = 0;
  private contentType = '';
  private kept: Buffer[] = [];
  private ended = false;

  constructor(
    private readonly reply: GatewayReply,
    private readonly cap: number,
  ) {}

  open(statusCode: number, headers: Record<string, string>, control: StreamControl): void {
    this.opened = true;
    this.contentType = headers['content-type'] ?? '';
    const out: Record<string, string> = {};
    for (const name in headers) {
      if (!SKIPPED_RESPONSE_HEADERS.has(name)) out[name] = headers[name]!;
    }
    if (this.contentType !== '') out['content-type'] = this.contentType;
    out['x-fal-request-id'] = this.requestId;
    if (this.servedFrom !== null) out['x-fal-served-from'] = this.servedFrom;
    // Proxies in front (nginx) would otherwise hold the events back.
    out['x-accel-buffering'] = 'no';
    this.reply.hijack();
    const res = this.reply.raw;
    res.on('close', () => {
      if (!this.ended) control.abort();
    });
    res.on('drain', () => control.resume());
    res.writeHead(statusCode, out);
    // Headers go out now, not with the first chunk: the caller learns the request id and status at once.
    res.flushHeaders();
  }

  write(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size <= this.cap) this.kept.push(chunk);
    else if (this.kept.length > 0) this.kept = [];
    return this.reply.raw.write(chunk);
  }

  end(): void {
    this.ended = true;
    this.reply.raw.end();
  }

  fail(): void {
    this.ended = true;
    this.reply.raw.destroy();
  }

  /**
   * The stored `json_output` of the streamed answer: past `cap` bytes a size marker; an event stream as
   * the list of its events' `data` (parsed when JSON); a JSON body as itself; anything else nothing.
   */
  recordedOutput(): unknown {
    if (this.size > this.cap) return { truncated: true, size: this.size };
    if (this.size === 0) return null;
    const text = Buffer.concat(this.kept).toString('utf8');
    if (this.contentType.startsWith('text/event-stream')) return sseData(text).map(parseOrKeep);
    if (!isJsonType(this.contentType)) return null;
    try {
      JSON.parse(text);
    } catch {
      return null;
    }
    return new JsonText(text);
  }
}

/** The `data` of each event in a server-sent event stream (comments, ids and event names dropped). */
export function sseData(text: string): string[] {
  const events: string[] = [];
  let data: string[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  // What follows the last line break is an unfinished line.
  lines.pop();
  for (const line of lines) {
    if (line === '') {
      if (data.length > 0) events.push(data.join('\n'));
      data = [];
    } else if (line.startsWith('data:')) {
      data.push(line.slice(line[5] === ' ' ? 6 : 5));
    } else if (line === 'data') {
      data.push('');
    }
  }
  // An event not terminated by a blank line is not dispatched (as EventSource does).
  return events;
}

function parseOrKeep(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
