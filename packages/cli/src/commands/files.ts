import { type Command, InvalidArgumentError } from 'commander';
import { connect } from '../connection.js';
import { formatBytes, formatTime } from '../format.js';
import { bold, green, printJson, printTable } from '../output.js';
import { downloadPath, uploadPath } from './files-transfer.js';
import { globals } from './globals.js';

function example(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText(
    'after',
    `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}\n`).join('')}`,
  );
}

interface LsOptions {
  json?: boolean;
  limit?: number;
  cursor?: string;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new InvalidArgumentError('a whole number from 1 to 10000');
  return n;
}

/** `hangar files ls|download|upload|upload-url|rm|mv`: the persistent storage your runners see. */
export function registerFiles(program: Command): void {
  const files = program
    .command('files')
    .description('Manage your persistent files (the folder your runners see as DATA_DIR)');

  example(
    files
      .command('ls')
      .description('List a folder (the root by default)')
      .argument('[path]', 'remote folder', '')
      .option('--json', 'print JSON')
      .option('--limit <n>', 'list one page of at most n entries (1-10000)', parseLimit)
      .option('--cursor <cursor>', 'continue after the page that printed this cursor (with --limit)')
      .action(async (path: string, opts: LsOptions, c: Command) => {
        const files = connect(globals(c)).files;
        const page =
          opts.limit === undefined
            ? null
            : await files.listPage(path, { limit: opts.limit, cursor: opts.cursor });
        const entries = page ? page.entries : await files.list(path);
        if (opts.json) return printJson(page ?? entries);
        printTable(
          ['NAME', 'SIZE', 'UPDATED'],
          entries.map((e) => [
            e.is_file ? e.name : bold(`${e.name}/`),
            e.is_file ? formatBytes(e.size) : '-',
            formatTime(e.updated_time),
          ]),
        );
        if (page?.next_cursor)
          process.stderr.write(`next page: --limit ${opts.limit} --cursor ${page.next_cursor}\n`);
      }),
    'hangar files ls datasets/images',
    'hangar files ls datasets/images --limit 1000 --json',
  );

  example(
    files
      .command('download')
      .description('Download a file, or a folder recursively')
      .argument('<remote>', 'remote file or folder')
      .argument('<local>', 'local file or folder')
      .option('--json', 'print what was transferred as JSON')
      .action(async (remote: string, local: string, opts: { json?: boolean }, c: Command) =>
        downloadPath(connect(globals(c)), remote, local, opts),
      ),
    'hangar files download datasets/images ./images',
  );

  example(
    files
      .command('upload')
      .description('Upload a file, or a folder recursively (a REMOTE ending in / keeps the file name)')
      .argument('<local>', 'local file or folder')
      .argument('<remote>', 'remote path')
      .option('--unzip', 'extract a ZIP file into REMOTE')
      .option('--json', 'print what was transferred as JSON')
      .action(async (local: string, remote: string, opts: { unzip?: boolean; json?: boolean }, c: Command) =>
        uploadPath(connect(globals(c)), local, remote, opts),
      ),
    'hangar files upload ./model.safetensors models/',
    'hangar files upload ./images.zip datasets/images --unzip',
  );

  example(
    files
      .command('upload-url')
      .description('Have the server download a public http(s) URL into REMOTE')
      .argument('<url>', 'http(s) URL')
      .argument('<remote>', 'remote file path')
      .option('--json', 'print JSON')
      .action(async (url: string, remote: string, opts: { json?: boolean }, c: Command) => {
        const ok = await connect(globals(c)).files.uploadFromUrl(remote, url);
        if (opts.json) return printJson({ ok, remote });
        process.stdout.write(`${green('uploaded')} ${url} to ${remote}\n`);
      }),
    'hangar files upload-url https://example.com/cat.jpg datasets/cat.jpg',
  );

  example(
    files
      .command('rm')
      .description('Delete files or folders (folders recursively)')
      .argument('<paths...>', 'remote paths')
      .option('--json', 'print JSON')
      .action(async (paths: string[], opts: { json?: boolean }, c: Command) => {
        const client = connect(globals(c));
        for (const p of paths) await client.files.remove(p);
        if (opts.json) return printJson({ removed: paths });
        for (const p of paths) process.stdout.write(`${green('removed')} ${p}\n`);
      }),
    'hangar files rm datasets/old.csv tmp/',
  );

  example(
    files
      .command('mv')
      .description('Move or rename a file or folder')
      .argument('<from>', 'remote path')
      .argument('<to>', 'new remote path')
      .option('--json', 'print JSON')
      .action(async (from: string, to: string, opts: { json?: boolean }, c: Command) => {
        await connect(globals(c)).files.move(from, to);
        if (opts.json) return printJson({ from, to });
        process.stdout.write(`${green('moved')} ${from} -> ${to}\n`);
      }),
    'hangar files mv datasets/a.csv archive/a.csv',
  );
}
