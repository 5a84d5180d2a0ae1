import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHangarClient, type DeployResult, type HangarClient } from '@hangar/client';
import { uploadBundleFile } from '@hangar/client/node';
import { parseManifest } from '@hangar/core';
import { BundlePackError, type PackedBundle, packBundle } from '@hangar/core/bundle';
import type { Command } from 'commander';
import { connect, resolveConnection } from '../connection.js';
import { formatBytes } from '../format.js';
import { CliError, EXIT, green, printJson } from '../output.js';
import { byteProgress, progressEnabled } from '../progress.js';
import { type GlobalOptions, globals } from './globals.js';

interface DeployOptions {
  message?: string;
  annotation: string[];
  local?: boolean;
  owner?: string;
  json?: boolean;
}

function parseAnnotations(items: string[]): Record<string, string> | undefined {
  if (items.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CliError(`--annotation expects KEY=VALUE, got "${item}"`, EXIT.usage);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** Reads DIR/hangar.json before packing, so a broken manifest fails early and says where. */
async function checkManifest(dir: string): Promise<void> {
  const file = join(dir, 'hangar.json');
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null)
    throw new CliError(`${file}: not found (an app directory holds a hangar.json)`, EXIT.usage);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file}: not valid JSON (${(err as Error).message})`, EXIT.usage);
  }
  try {
    // Machine types are the server's to check; here only the shape and the rules.
    const declared = (doc as { machine_type?: unknown } | null)?.machine_type;
    parseManifest(doc, typeof declared === 'string' ? [declared] : []);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.usage);
  }
}

async function pack(dir: string): Promise<PackedBundle> {
  try {
    return await packBundle(dir);
  } catch (err) {
    if (err instanceof BundlePackError) throw new CliError(`cannot pack ${dir}: ${err.message}`, EXIT.usage);
    throw err;
  }
}

/** Uploads the bundle unless the owner already holds that digest; returns the digest. */
async function upload(client: HangarClient, packed: PackedBundle, showBar: boolean): Promise<string> {
  if (await client.apps.getBundle(packed.digest)) return packed.digest;
  const bar = byteProgress(packed.bytes, showBar);
  try {
    const info = await uploadBundleFile(client, packed.file, {
      onProgress: ({ loaded }) => bar.update(loaded, 'upload'),
    });
    return info.bundle;
  } finally {
    bar.stop();
  }
}

/** Operator deploy: stores the bundle straight into HANGAR_HOME as `owner`'s, then deploys it through
 * the running server with a one-off ADMIN key of that owner, revoked right after. */
async function deployLocal(
  g: GlobalOptions,
  owner: string,
  packed: PackedBundle,
  body: Omit<Parameters<HangarClient['apps']['deploy']>[0], 'bundle'>,
): Promise<DeployResult> {
  const server = await import('@hangar/server');
  const prepared = await server.openOperator(g.home, async (op) => {
    const { digest } = await op.importBundle(owner, packed.file);
    const key = await op.createKey(owner, 'ADMIN', 'hangar deploy --local');
    return { digest, key };
  });
  try {
    const client = createHangarClient({ url: resolveConnection(g).url, key: prepared.key.key });
    return await client.apps.deploy({ ...body, bundle: prepared.digest });
  } finally {
    await server.openOperator(g.home, (op) => op.revokeKey(prepared.key.key_id));
  }
}

/** `hangar deploy DIR`: packs an app directory, uploads it as a bundle and deploys it as a new revision. */
export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .description(
      'Pack an app directory (with a hangar.json manifest), upload it and deploy it as a new revision',
    )
    .argument('<dir>', 'app directory on this machine')
    .option('-m, --message <text>', 'revision message')
    .option(
      '-a, --annotation <key=value>',
      'revision annotation (repeatable)',
      (v, acc: string[]) => [...acc, v],
      [],
    )
    .option('--local', 'operator: store the bundle in HANGAR_HOME directly and deploy it into --owner')
    .option('--owner <name>', 'owner to deploy into (with --local)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ hangar deploy examples/echo-node --message "first deploy" -a team=ml\n' +
        '  $ hangar deploy examples/echo-node --local --owner acme   # operator, on the server machine\n',
    )
    .action(async (dir: string, opts: DeployOptions, cmd: Command) => {
      const g: GlobalOptions = globals(cmd);
      if (opts.owner && !opts.local) throw new CliError('--owner needs --local', EXIT.usage);
      if (opts.local && !opts.owner) throw new CliError('--local needs --owner', EXIT.usage);
      await checkManifest(dir);
      const body = { message: opts.message, annotations: parseAnnotations(opts.annotation) };
      const packed = await pack(dir);
      let result: DeployResult;
      try {
        if (opts.local && opts.owner) result = await deployLocal(g, opts.owner, packed, body);
        else {
          const client = connect(g);
          const bundle = await upload(client, packed, progressEnabled(opts.json));
          result = await client.apps.deploy({ ...body, bundle });
        }
      } finally {
        await packed.remove();
      }
      if (opts.json) return printJson({ ...result, bundle: packed.digest });
      process.stdout.write(
        `${green('deployed')} ${result.endpoint_id} revision ${result.revision_id} ` +
          `(bundle ${packed.digest.slice(0, 19)}…, ${formatBytes(packed.bytes)})\n`,
      );
    });
}
