import { compareFanoutIds, type Fanout, type FanoutMessage } from '@hangar/core';

/** Options of `createMemoryFanout`. */
export interface MemoryFanoutOptions {
  /** Messages kept per topic for replay; default 10,000. */
  maxLen?: number;
  now?: () => number;
}

interface Topic {
  log: FanoutMessage[];
  listeners: Set<(msg: FanoutMessage) => void>;
}

/**
 * The in-process `Fanout` of one node: topics are ring buffers in memory, ids `<ms>-<seq>` as Redis makes
 * them, and delivery is asynchronous (a listener never runs inside `publish` or `subscribe`).
 */
export function createMemoryFanout(opts: MemoryFanoutOptions = {}): Fanout {
  const maxLen = opts.maxLen ?? 10_000;
  const now = opts.now ?? Date.now;
  const topics = new Map<string, Topic>();
  let lastMs = 0;
  let seq = 0;
  const topicOf = (name: string) => {
    let t = topics.get(name);
    if (!t) {
      t = { log: [], listeners: new Set() };
      topics.set(name, t);
    }
    return t;
  };
  const nextId = () => {
    const ms = Math.max(now(), lastMs);
    seq = ms === lastMs ? seq + 1 : 0;
    lastMs = ms;
    return `${ms}-${seq}`;
  };
  return {
    async publish(topic, data) {
      const t = topicOf(topic);
      const msg = { id: nextId(), data };
      t.log.push(msg);
      if (t.log.length > maxLen) t.log.splice(0, t.log.length - maxLen);
      for (const l of t.listeners) queueMicrotask(() => l(msg));
      return msg.id;
    },
    subscribe(topic, afterId, listener) {
      const t = topicOf(topic);
      const backlog = afterId === null ? [] : t.log.filter((m) => compareFanoutIds(m.id, afterId) > 0);
      // Messages published before the backlog is handed over are queued behind it, in order.
      let replaying = backlog.length > 0;
      const held: FanoutMessage[] = [];
      const deliver = (msg: FanoutMessage) => {
        if (replaying) held.push(msg);
        else listener(msg);
      };
      t.listeners.add(deliver);
      if (replaying) {
        queueMicrotask(() => {
          for (const m of backlog) if (t.listeners.has(deliver)) listener(m);
          replaying = false;
          for (const m of held.splice(0)) if (t.listeners.has(deliver)) listener(m);
        });
      }
      return () => {
        t.listeners.delete(deliver);
        if (t.listeners.size === 0 && t.log.length === 0) topics.delete(topic);
      };
    },
    close: async () => {
      topics.clear();
    },
  };
}
