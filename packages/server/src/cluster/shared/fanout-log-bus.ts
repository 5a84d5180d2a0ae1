import { randomBytes } from 'node:crypto';
import type { Fanout, LogBus, LogLine } from '@hangar/core';
import { createLogBus } from '../../runners/log-bus.js';

/** Options of `createFanoutLogBus`. */
export interface FanoutLogBusOptions {
  fanout: Fanout;
  /** The topic every node's log lines go through; default `logs`. */
  topic?: string;
  onError?: (err: unknown, what: string) => void;
}

/** A `LogBus` that can be closed (it holds a fan-out subscription). */
export interface ClosableLogBus extends LogBus {
  close(): void;
}

/**
 * The log bus of a cluster node: a batch reaches this node's subscribers at once (as on one machine) and
 * every other node's through the fan-out; a node skips its own batches when they come back. Lines carry
 * their store id, so log streams resume from the shared store by `Last-Event-ID` on any node. When the
 * fan-out cannot take a batch, the lines are still stored: other nodes' streams lose them live only.
 */
export function createFanoutLogBus(opts: FanoutLogBusOptions): ClosableLogBus {
  const topic = opts.topic ?? 'logs';
  const origin = randomBytes(8).toString('hex');
  const local = createLogBus();
  const unsubscribe = opts.fanout.subscribe(topic, null, (msg) => {
    const cut = msg.data.indexOf('\n');
    if (cut < 0 || msg.data.slice(0, cut) === origin) return;
    let lines: LogLine[];
    try {
      lines = JSON.parse(msg.data.slice(cut + 1)) as LogLine[];
    } catch {
      return;
    }
    local.publish(lines);
  });
  return {
    publish(lines) {
      if (lines.length === 0) return;
      local.publish(lines);
      opts.fanout
        .publish(topic, `${origin}\n${JSON.stringify(lines)}`)
        .catch((err) => opts.onError?.(err, 'log lines reach this node only while Redis is unreachable'));
    },
    subscribe: (listener) => local.subscribe(listener),
    close: unsubscribe,
  };
}
