import * as ajv2020 from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import { falViolations } from '../api/apps/testing/fal-oracle.test-helper.js';
import type { FalOperation } from './fal-document.test-helper.js';
import type { SeenResponse } from './server.test-helper.js';

// What a fuzzed call may answer: never a 5xx; a status the document lists for the operation (then the
// body must match the document's schema for it), or one of the extras the caller allows.

/** Statuses beyond fal's document that our docs promise: operationId → status → why. */
export type Extras = Record<string, Record<number, string>>;

/** A deviation found by fuzzing and not fixed yet, matched narrowly by status and error message. */
export interface KnownDeviation {
  operationId: string;
  status: number;
  message: RegExp;
}

function isKnownDeviation(op: FalOperation, res: SeenResponse, known: KnownDeviation[]): boolean {
  return known.some((d) => {
    if (d.operationId !== op.operationId || d.status !== res.statusCode) return false;
    try {
      return d.message.test(String(JSON.parse(res.body).error?.message));
    } catch {
      return false;
    }
  });
}

type Validate = ((data: unknown) => boolean) & {
  errors?: { instancePath: string; message?: string }[] | null;
};
const interop = <T>(m: unknown): T => ((m as { default?: unknown }).default ?? m) as T;
const Ajv = interop<new (o: object) => { compile(s: object): Validate }>(interop(ajv2020));
const addFormats = interop<(a: unknown) => void>(interop(ajvFormats));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const envelopes = new Map<string, Validate>();

function mediaType(res: SeenResponse): string {
  return String(res.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
}

function envelopeViolations(op: FalOperation, res: SeenResponse): string[] {
  if (mediaType(res) !== 'application/json') return [`error ${res.statusCode} is not JSON`];
  let validate = envelopes.get(op.operationId);
  if (!validate) {
    validate = ajv.compile(op.errorSchema);
    envelopes.set(op.operationId, validate);
  }
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    return ['error body is not valid JSON'];
  }
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `error envelope ${e.instancePath} ${e.message}`);
}

function extraViolations(op: FalOperation, res: SeenResponse): string[] {
  if (res.statusCode === 304) return res.body === '' ? [] : ['304 with a body'];
  if (res.statusCode === 206) {
    return mediaType(res) === 'application/octet-stream' ? [] : [`206 as ${mediaType(res)}`];
  }
  return envelopeViolations(op, res);
}

/** Everything wrong with one answer of `op`; empty when it conforms. */
export function fuzzViolations(
  op: FalOperation,
  res: SeenResponse,
  extras: Extras,
  known: KnownDeviation[],
): string[] {
  if (res.statusCode >= 500) return [`server error ${res.statusCode}`];
  const status = String(res.statusCode);
  if (status in op.responses) {
    const found = falViolations(op.operationId, res);
    // A listed error status must carry the envelope even where the document's schema is looser.
    if (found.length === 0 && res.statusCode >= 400) return envelopeViolations(op, res);
    return found;
  }
  if (extras[op.operationId]?.[res.statusCode]) return extraViolations(op, res);
  if (isKnownDeviation(op, res, known)) return envelopeViolations(op, res);
  return [
    `status ${status} is neither listed by fal's document nor a documented extra for ${op.operationId}`,
  ];
}
