import type { NodeInfo } from '@hangar/client';
import type { Command } from 'commander';
import { connect } from '../connection.js';
import { formatSeconds, formatTime } from '../format.js';
import { bold, printJson, printTable } from '../output.js';
import { globals } from './globals.js';

/** `runners/slots`, and GPUs free of all when the node has any. */
function capacityCell(n: NodeInfo): string {
  const slots = `${n.runner_count}/${n.capacity.runner_slots}`;
  return n.capacity.gpus > 0 ? `${slots} gpus ${n.capacity.free_gpus}/${n.capacity.gpus} free` : slots;
}

/** `hangar nodes`: the cluster's nodes, their runners, capacity, heartbeats and leader (operator's ADMIN key). */
export function registerNodes(program: Command): void {
  program
    .command('nodes')
    .description('List the nodes of the cluster: status, leader, heartbeat, runners and capacity')
    .option('--runners', 'list each node’s runners under it')
    .option('--json', 'print JSON')
    .action(async (opts: { runners?: boolean; json?: boolean }, cmd: Command) => {
      const view = await connect(globals(cmd)).nodes.list();
      if (opts.json) return printJson(view);
      const leader = view.leader ? `${view.leader.node_id} (token ${view.leader.token})` : 'none';
      process.stdout.write(`${bold('mode')} ${view.mode}  ${bold('leader')} ${leader}\n`);
      printTable(
        [
          'NODE',
          'STATUS',
          'LEADER',
          'HEARTBEAT',
          'RUNNERS/SLOTS',
          'MACHINE TYPES',
          'URL',
          'VERSION',
          'STARTED',
        ],
        view.nodes.map((n) => [
          n.node_id,
          n.status,
          n.is_leader ? 'yes' : '',
          `${formatSeconds(n.heartbeat_age_ms / 1000)} ago`,
          capacityCell(n),
          n.capacity.machine_types.join(','),
          n.url,
          n.version,
          formatTime(n.started_at),
        ]),
      );
      if (!opts.runners) return;
      for (const n of view.nodes) {
        process.stdout.write(`\n${bold(n.node_id)}\n`);
        printTable(
          ['RUNNER', 'APP', 'MACHINE TYPE', 'STATE', 'STARTED'],
          n.runners.map((r) => [
            r.runner_id,
            `${r.owner}/${r.app}`,
            r.machine_type,
            r.state,
            formatTime(r.started_at),
          ]),
        );
      }
    });
}
