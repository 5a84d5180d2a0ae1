#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerAnalytics } from './commands/analytics.js';
import { registerRunnersCommand } from './commands/app-ops.js';
import { registerApps } from './commands/apps.js';
import { registerDeploy } from './commands/deploy.js';
import { registerFiles } from './commands/files.js';
import { registerKeys } from './commands/keys.js';
import { registerLogin } from './commands/login.js';
import { registerLogs } from './commands/logs.js';
import { registerMetrics } from './commands/metrics.js';
import { registerNodes } from './commands/nodes.js';
import { registerQueue } from './commands/queue.js';
import { registerRequests } from './commands/requests.js';
import { registerRun } from './commands/run.js';
import { registerSecrets } from './commands/secrets.js';
import { registerServe } from './commands/serve.js';
import { registerUsage } from './commands/usage.js';
import { EXIT, exitQuietlyOnClosedOutput, reportError } from './output.js';

exitQuietlyOnClosedOutput();

const program = new Command('hangar')
  .description('Hangar: self-hosted serverless apps with fal-compatible APIs')
  .option('--url <url>', 'server URL (HANGAR_URL, default http://127.0.0.1:8080)')
  .option('--key <key>', 'API key id:secret (HANGAR_KEY or FAL_KEY)')
  .option('--profile <name>', 'profile from ~/.config/hangar/config.json', undefined)
  .option('--home <dir>', 'server home for local commands (HANGAR_HOME, default ./.hangar)')
  .showHelpAfterError()
  .exitOverride();

registerServe(program);
registerDeploy(program);
registerApps(program);
registerRunnersCommand(program);
registerRun(program);
registerFiles(program);
registerRequests(program);
registerUsage(program);
registerLogs(program);
registerAnalytics(program);
registerMetrics(program);
registerQueue(program);
registerKeys(program);
registerSecrets(program);
registerNodes(program);
registerLogin(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  process.exit(reportError(err));
}
