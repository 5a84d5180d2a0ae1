import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { connect, profilesPath } from '../connection.js';
import { CliError, EXIT, green } from '../output.js';
import { globals } from './globals.js';

/** `hangar login`: checks a URL and key against the server and saves them as a profile. */
export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('Save a server URL and key as a profile in ~/.config/hangar/config.json')
    .addHelpText('after', '\nExample:\n  $ hangar login --url http://127.0.0.1:8080 --key "$HANGAR_KEY"\n')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      if (!g.url || !g.key) throw new CliError('login needs --url and --key', EXIT.usage);
      await connect(g).http.json('GET', '/v1/serverless/apps');
      const path = profilesPath();
      let all: { profiles: Record<string, { url: string; key: string }> } = { profiles: {} };
      try {
        all = JSON.parse(readFileSync(path, 'utf8'));
      } catch {
        // first login
      }
      all.profiles ??= {};
      all.profiles[g.profile ?? 'default'] = { url: g.url, key: g.key };
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
      process.stdout.write(`${green('saved')} profile "${g.profile ?? 'default'}" in ${path}\n`);
    });
}
