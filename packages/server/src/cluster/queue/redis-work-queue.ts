import { PlatformError, type QueuedWork, type WorkClaim, type WorkQueue, type WorkState } from '@hangar/core';
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from '../redis.js';
import {
  CLAIM,
  COMPLETE,
  ENQUEUE,
  FLUSH,
  POSITION,
  RECLAIM,
  REMOVE,
  RENEW,
  REQUEUE,
} from './redis-scripts.js';

const SCRIPTS = { CLAIM, COMPLETE, ENQUEUE, FLUSH, POSITION, RECLAIM, REMOVE, RENEW, REQUEUE } as const;
type ScriptName = keyof typeof SCRIPTS;
const KEYS_OF: Record<ScriptName, number> = {
  CLAIM: 3,
  COMPLETE: 2,
  ENQUEUE: 2,
  FLUSH: 1,
  POSITION: 1,
  RECLAIM: 2,
  REMOVE: 1,
  RENEW: 2,
  REQUEUE: 2,
};

/** Seconds a caller is told to wait when Redis does not answer. */
const RETRY_AFTER_S = 2;
/** Scores put every `normal` request (band 0) before any `low` one (band 1); acceptance times stay exact. */
const BAND = 1e15;

/** The queue's keys under `hangar:q:`. */
const Q = `${KEY_PREFIX}q:`;
const LEASES = `${Q}leases`;
const TOKEN = `${Q}token`;
const appKey = (owner: string, app: string) => `${Q}app:${owner}/${app}`;
const workKey = (id: string) => `${Q}w:${id}`;

/** The queue error callers answer with 503 and `Retry-After` (the driver's message stays in the log). */
function unavailable(): PlatformError {
  return new PlatformError('QUEUE_UNAVAILABLE', undefined, { 'retry-after': String(RETRY_AFTER_S) });
}

/**
 * The cluster-wide queue in Redis: one sorted set per app scored by priority band then acceptance time,
 * a hash per request, and a sorted set of leases by deadline. Every change is one Lua script, so two nodes
 * never claim the same request and a fenced-off holder's writes are refused.
 */
export class RedisWorkQueue implements WorkQueue {
  /**
   * `timeoutMs` bounds every command: a Redis that holds the connection open without answering (frozen,
   * overloaded) is an outage too. A command given up on may still run later; each one is safe to repeat
   * or to have happened unseen (an unseen claim's lease lapses and the request runs again).
   */
  constructor(
    private readonly redis: Redis,
    private readonly timeoutMs = 2000,
  ) {
    for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
      redis.defineCommand(`hq${name}`, { numberOfKeys: KEYS_OF[name], lua: SCRIPTS[name] });
    }
  }

  private async run(name: ScriptName, ...args: Array<string | number>): Promise<unknown> {
    const command = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
      `hq${name}`
    ]!;
    try {
      return await this.timed(command.apply(this.redis, args));
    } catch (err) {
      throw this.translate(err);
    }
  }

  private timed<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('redis command timed out')), this.timeoutMs);
    });
    return Promise.race([p, expired]).finally(() => clearTimeout(timer));
  }

  private translate(err: unknown): Error {
    if (err instanceof Error && /ERR|WRONGTYPE|NOSCRIPT/.test(err.message) && !/connect/i.test(err.message))
      return err;
    return unavailable();
  }

  async enqueue(work: QueuedWork): Promise<void> {
    const score = (work.priority === 'low' ? BAND : 0) + work.sentAt;
    await this.run(
      'ENQUEUE',
      workKey(work.requestId),
      appKey(work.owner, work.app),
      JSON.stringify(work),
      score,
      work.requestId,
    );
  }

  async claim(
    owner: string,
    app: string,
    node: string,
    leaseMs: number,
    now: number,
  ): Promise<WorkClaim | null> {
    const until = now + leaseMs;
    const got = (await this.run('CLAIM', appKey(owner, app), LEASES, TOKEN, Q, node, until)) as
      | [string, number, string]
      | null;
    if (!got) return null;
    return { work: JSON.parse(got[2]) as QueuedWork, token: Number(got[1]), node, leaseUntil: until };
  }

  async renew(requestId: string, token: number, leaseMs: number, now: number): Promise<boolean> {
    return (await this.run('RENEW', workKey(requestId), LEASES, token, now + leaseMs, requestId)) === 1;
  }

  async complete(requestId: string, token: number): Promise<boolean> {
    return (await this.run('COMPLETE', workKey(requestId), LEASES, token, requestId)) === 1;
  }

  async requeue(
    requestId: string,
    token: number,
    update: Pick<QueuedWork, 'attempts' | 'retriesBy'>,
  ): Promise<boolean> {
    const raw = await this.hget(requestId, 'w');
    if (raw === null) return false;
    const work = {
      ...(JSON.parse(raw) as QueuedWork),
      attempts: update.attempts,
      retriesBy: update.retriesBy,
    };
    return (
      (await this.run('REQUEUE', workKey(requestId), LEASES, token, requestId, JSON.stringify(work))) === 1
    );
  }

  async position(requestId: string): Promise<number | null> {
    const rank = Number(await this.run('POSITION', workKey(requestId), requestId));
    return rank < 0 ? null : rank;
  }

  async state(requestId: string): Promise<WorkState> {
    let f: Array<string | null>;
    try {
      f = await this.timed(this.redis.hmget(workKey(requestId), 'st', 'n', 't', 'l'));
    } catch (err) {
      throw this.translate(err);
    }
    if (f[0] === 'q') return { state: 'queued' };
    if (f[0] === 'c') return { state: 'claimed', node: f[1]!, token: Number(f[2]), leaseUntil: Number(f[3]) };
    return { state: 'unknown' };
  }

  async remove(requestId: string): Promise<QueuedWork | null> {
    const raw = (await this.run('REMOVE', workKey(requestId), requestId)) as string | null;
    return raw ? (JSON.parse(raw) as QueuedWork) : null;
  }

  async flush(owner: string, app: string): Promise<QueuedWork[]> {
    const raws = (await this.run('FLUSH', appKey(owner, app), Q)) as string[];
    return raws.map((raw) => JSON.parse(raw) as QueuedWork);
  }

  async length(owner: string, app: string): Promise<number> {
    try {
      return await this.timed(this.redis.zcard(appKey(owner, app)));
    } catch (err) {
      throw this.translate(err);
    }
  }

  async reclaimExpired(node: string, leaseMs: number, now: number, limit: number): Promise<WorkClaim[]> {
    const until = now + leaseMs;
    const flat = (await this.run('RECLAIM', LEASES, TOKEN, Q, now, node, until, limit)) as Array<
      string | number
    >;
    const out: WorkClaim[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      out.push({
        work: JSON.parse(String(flat[i + 2])) as QueuedWork,
        token: Number(flat[i + 1]),
        node,
        leaseUntil: until,
      });
    }
    return out;
  }

  private async hget(requestId: string, field: string): Promise<string | null> {
    try {
      return await this.timed(this.redis.hget(workKey(requestId), field));
    } catch (err) {
      throw this.translate(err);
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
