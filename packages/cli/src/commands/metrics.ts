import type { Command } from 'commander';
import { connect } from '../connection.js';
import { printJson } from '../output.js';
import { globals } from './globals.js';

/** One sample of the Prometheus text format. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses Prometheus text exposition samples (comments and HELP/TYPE lines skipped). */
export function parsePrometheus(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) {
      labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return out;
}

/** `hangar metrics`: the Prometheus metrics of your apps. */
export function registerMetrics(program: Command): void {
  program
    .command('metrics')
    .description('Print the Prometheus metrics of your apps (runners, queue, requests, latency)')
    .option('--json', 'print the samples as JSON')
    .addHelpText('after', '\nExample:\n  $ hangar metrics | grep fal_app_queue_size\n')
    .action(async (opts: { json?: boolean }, c: Command) => {
      const text = await connect(globals(c)).metrics.text();
      if (opts.json) return printJson(parsePrometheus(text));
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    });
}
