import type { QueueSignals } from '@hangar/core';
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from '../redis.js';

const channelOf = (node: string) => `${KEY_PREFIX}q:sig:${node}`;

/** Signals between dispatchers of one process (tests, and the embedded shape of the port). */
export class MemoryQueueSignals implements QueueSignals {
  private readonly listeners = new Map<string, Set<(message: string) => void>>();

  async send(node: string, message: string): Promise<void> {
    const targets = node === '*' ? [...this.listeners.values()] : [this.listeners.get(node) ?? new Set()];
    // Delivered on a later turn, as a network would.
    setImmediate(() => {
      for (const set of targets) for (const listener of set) listener(message);
    });
  }

  async listen(node: string, listener: (message: string) => void): Promise<() => void> {
    let set = this.listeners.get(node);
    if (!set) {
      set = new Set();
      this.listeners.set(node, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  async close(): Promise<void> {}
}

/**
 * Signals over Redis pub/sub, one channel per node plus `*`: `publish` on the shared connection,
 * `subscribe` on a connection of its own (a subscribed connection can send nothing else).
 */
export class RedisQueueSignals implements QueueSignals {
  private readonly listeners = new Map<string, Set<(message: string) => void>>();

  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
  ) {
    sub.on('message', (channel: string, message: string) => {
      for (const listener of this.listeners.get(channel) ?? []) listener(message);
    });
  }

  async send(node: string, message: string): Promise<void> {
    await this.pub.publish(channelOf(node), message);
  }

  async listen(node: string, listener: (message: string) => void): Promise<() => void> {
    const channels = [channelOf(node), channelOf('*')];
    for (const channel of channels) {
      let set = this.listeners.get(channel);
      if (!set) {
        set = new Set();
        this.listeners.set(channel, set);
        await this.sub.subscribe(channel);
      }
      set.add(listener);
    }
    return () => {
      for (const channel of channels) this.listeners.get(channel)?.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
