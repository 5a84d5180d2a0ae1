import type { SerializedPage } from '@hangar/core';
import type { FastifyReply } from 'fastify';

/** The response body: the serialised result plus `next_cursor` and `has_more` (string work only). */
export function pageBody(
  page: Pick<SerializedPage, 'json'>,
  info: { next_cursor: string | null; has_more: boolean },
): string {
  const head = page.json.slice(0, -1);
  const sep = head.length > 1 ? ',' : '';
  return `${head}${sep}"next_cursor":${JSON.stringify(info.next_cursor)},"has_more":${info.has_more}}`;
}

/**
 * Sends a serialised page as the JSON body, with the content type Fastify gives the objects it serialises.
 * Fastify sends strings as they are: the route's response schema documents the body and tests validate it.
 */
export function sendPage(
  reply: FastifyReply,
  page: Pick<SerializedPage, 'json'>,
  info: { next_cursor: string | null; has_more: boolean },
): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(pageBody(page, info));
}
