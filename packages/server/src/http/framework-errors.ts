import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { PlatformError, toEnvelope } from '@hangar/core';

/**
 * Errors raised below Fastify — by node:http's parser, before there is a request — answered in fal's
 * envelope like every other error, instead of the framework's own shapes.
 */

/** The registered error for a node:http `clientError` (llhttp's `HPE_*` codes and the header timeout). */
export function clientErrorOf(err: Error & { code?: string }): PlatformError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new PlatformError('REQUEST_HEADERS_TOO_LARGE');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new PlatformError('REQUEST_TOO_LARGE', 'The chunk extensions of the body are too large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new PlatformError('REQUEST_TIMEOUT');
  }
  // llhttp's messages name the rule broken ("Invalid header value char"), never anything of the server.
  const detail = err.message.startsWith('Parse Error: ') ? err.message.slice(13) : '';
  return new PlatformError(
    'REQUEST_MALFORMED',
    detail ? `The HTTP request could not be parsed: ${detail}` : undefined,
  );
}

/** A whole HTTP/1.1 answer carrying `err` in fal's envelope, closing the connection. */
export function rawErrorResponse(err: PlatformError): string {
  const body = JSON.stringify(toEnvelope(err));
  return (
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'connection: close\r\n\r\n' +
    body
  );
}

/** node:http's in-flight response on a socket (what its own `clientError` default checks too). */
interface SocketWithResponse extends Socket {
  _httpMessage?: { headersSent?: boolean } | null;
}

/**
 * Fastify's `clientErrorHandler`: the parser's state is broken, so the answer is written straight to
 * the socket with `Connection: close` and the socket is closed. Nothing is written when the peer is
 * gone or a response has already begun on the socket (it would corrupt that response).
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as SocketWithResponse)._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  socket.end(rawErrorResponse(clientErrorOf(err)));
  // The peer may never close its side; the answer is flushed by then.
  socket.once('finish', () => socket.destroy());
}

/** True for an HTTP/1.1 request without a `Host` header, which HTTP/1.1 requires (RFC 9112 §3.2). */
export function lacksHost(req: {
  httpVersionMajor: number;
  httpVersionMinor: number;
  headers: { host?: string };
}): boolean {
  return req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && req.headers.host === undefined;
}
