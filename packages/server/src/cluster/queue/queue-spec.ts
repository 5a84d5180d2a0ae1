import {
  type AppManifest,
  type DispatchRequest,
  type DispatchResult,
  type DispatchStart,
  type QueuedWork,
  type RetryBudgets,
  retryBudgetOf,
} from '@hangar/core';

/**
 * How the executing node sends a queued request, written by the accepting node. A queued request's body is
 * read from the request store; a relayed sync call (never recorded before its answer) carries its own.
 */
export interface WorkSpec {
  mode: 'queue' | 'sync';
  endpointId: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  timeoutMs: number;
  noRetry: boolean;
  retryBudgets: RetryBudgets | null;
  runnerHint: string | null;
  /** base64, sync calls only. */
  body?: string;
}

/** The queue entry of a dispatch accepted by `node`. */
export function workOf(req: DispatchRequest, node: string, mode: WorkSpec['mode']): QueuedWork {
  const spec: WorkSpec = {
    mode,
    endpointId: req.endpointId,
    path: req.path,
    method: req.method,
    headers: req.headers,
    timeoutMs: req.timeoutMs,
    noRetry: req.noRetry,
    retryBudgets: req.retryBudgets,
    runnerHint: req.runnerHint,
  };
  if (mode === 'sync') spec.body = req.body.toString('base64');
  return {
    requestId: req.requestId,
    owner: req.owner,
    app: req.app,
    priority: req.priority,
    sentAt: req.sentAt,
    startDeadline: req.startDeadline,
    attempts: 0,
    retriesBy: { server_error: 0, timeout: 0, connection_error: 0 },
    acceptedBy: node,
    spec: JSON.stringify(spec),
  };
}

export function specOf(work: QueuedWork): WorkSpec {
  return JSON.parse(work.spec) as WorkSpec;
}

/** The local dispatch of claimed work. */
export function requestOf(
  work: QueuedWork,
  spec: WorkSpec,
  body: Buffer,
  onStart: (info: DispatchStart) => void,
): DispatchRequest {
  return {
    requestId: work.requestId,
    owner: work.owner,
    app: work.app,
    endpointId: spec.endpointId,
    path: spec.path,
    method: spec.method,
    headers: spec.headers,
    body,
    priority: work.priority,
    timeoutMs: spec.timeoutMs,
    startDeadline: work.startDeadline,
    noRetry: spec.noRetry,
    retryBudgets: spec.retryBudgets,
    runnerHint: spec.runnerHint,
    sentAt: work.sentAt,
    onStart,
    prior: { attempts: work.attempts, retriesBy: work.retriesBy },
  };
}

/**
 * Whether a request whose node was lost mid-attempt runs again: fal's `connection_error` under the
 * caller's and the app's budgets and the attempt ceiling (`attempts` already counts the lost attempt).
 */
export function mayRetryLost(
  work: QueuedWork,
  spec: WorkSpec,
  manifest: AppManifest | null,
  maxAttempts: number,
): boolean {
  if (manifest === null || work.attempts >= maxAttempts || spec.noRetry) return false;
  const budget = retryBudgetOf('connection_error', spec.retryBudgets, manifest);
  return work.retriesBy.connection_error < budget;
}

/** A dispatch result as it travels between nodes (the body as base64). */
export interface WireResult extends Omit<DispatchResult, 'body'> {
  body: string;
}

export function toWire(result: DispatchResult): WireResult {
  return { ...result, body: result.body.toString('base64') };
}

export function fromWire(wire: WireResult): DispatchResult {
  return { ...wire, body: Buffer.from(wire.body, 'base64') };
}

/** What nodes tell each other about a queued request. */
export type QueueMessage =
  | { t: 'start'; id: string; info: DispatchStart }
  | { t: 'done'; id: string; result: WireResult; recorded: boolean }
  | { t: 'cancel'; id: string }
  | { t: 'wake'; owner: string; app: string };
