import type { KeyRevocations } from '@hangar/core';
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from '../redis.js';
import { throttledReport, withDeadline } from './deadline.js';

const CHANNEL = `${KEY_PREFIX}keys:revoked`;
const EPOCH = `${KEY_PREFIX}keys:epoch`;
const ANNOUNCE = `local e = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], e .. ':' .. ARGV[2])
return e`;

/**
 * Announces one revocation on Redis as a node does (the epoch and the message in one script), for a
 * process that is not a node: the operator's `hangar keys revoke` against the cluster's database.
 */
export async function announceRevocation(redis: Redis, keyId: string, timeoutMs = 2000): Promise<void> {
  await withDeadline(redis.eval(ANNOUNCE, 1, EPOCH, CHANNEL, keyId), timeoutMs, 'a key revocation');
}

/** Options of `createRedisRevocations`. */
export interface RedisRevocationsOptions {
  /** For `INCR`/`PUBLISH` and the epoch check. */
  redis: Redis;
  /** A connection of its own (`openRedis(…, { blocking: true })`): it only subscribes. */
  subscriber: Redis;
  /** How often the revocation epoch is read as a backstop for lost messages; default 250 ms. */
  checkMs?: number;
  /** Longest a command may wait for Redis; default 500 ms. */
  timeoutMs?: number;
  onError?: (err: unknown, what: string) => void;
}

/**
 * Revocations over Redis: each announcement increments `hangar:keys:epoch` and publishes `<epoch>:<keyId>`
 * on `hangar:keys:revoked`. Every node subscribes, and also reads the epoch every `checkMs`: an epoch ahead
 * of the messages it saw means some were lost (a reconnect), and it forgets every cached key. While the
 * subscription is down or the last check failed, `reliable()` is false and keys are verified every time.
 */
export function createRedisRevocations(opts: RedisRevocationsOptions): KeyRevocations {
  const { redis, subscriber } = opts;
  const timeoutMs = opts.timeoutMs ?? 500;
  const report = throttledReport(opts.onError ?? (() => {}));
  const listeners = new Set<(keyId: string | null) => void>();
  let seenEpoch = -1;
  let subscribed = false;
  let checkedOk = false;
  const emit = (keyId: string | null) => {
    for (const l of listeners) l(keyId);
  };

  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== CHANNEL) return;
    const colon = message.indexOf(':');
    const epoch = Number(message.slice(0, colon));
    if (epoch > seenEpoch) seenEpoch = epoch;
    emit(message.slice(colon + 1));
  });
  // ioredis re-subscribes after a reconnect; whatever was published meanwhile was missed.
  subscriber.on('ready', () => {
    if (subscribed) emit(null);
  });
  subscriber.on('close', () => {
    checkedOk = false;
  });
  const subscribing = subscriber.subscribe(CHANNEL).then(
    () => {
      subscribed = true;
    },
    (err) => report(err, 'key revocations are checked on every request until Redis is back'),
  );

  // One script: the epoch and the message can never disagree, whichever node reads them.
  const publish = (keyId: string) => announceRevocation(redis, keyId, timeoutMs);
  const unsent = new Set<string>();
  const check = async () => {
    try {
      for (const keyId of unsent) {
        await publish(keyId);
        unsent.delete(keyId);
      }
      const raw = await withDeadline(redis.get(EPOCH), timeoutMs, 'the revocation epoch');
      const epoch = Number(raw ?? 0);
      if (seenEpoch >= 0 && epoch > seenEpoch) emit(null);
      seenEpoch = Math.max(seenEpoch, epoch);
      checkedOk = true;
    } catch (err) {
      checkedOk = false;
      report(err, 'key revocations are checked on every request until Redis is back');
    }
  };
  void check();
  const timer = setInterval(check, opts.checkMs ?? 250);
  timer.unref();

  return {
    async announce(keyId) {
      // This node forgets the key at once, whatever Redis answers.
      emit(keyId);
      try {
        await publish(keyId);
      } catch (err) {
        // Retried by the epoch check until Redis takes it; meanwhile the key is revoked in the store.
        unsent.add(keyId);
        throw err;
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    reliable: () => subscribed && checkedOk && subscriber.status === 'ready',
    async close() {
      clearInterval(timer);
      await subscribing;
      listeners.clear();
    },
  };
}
