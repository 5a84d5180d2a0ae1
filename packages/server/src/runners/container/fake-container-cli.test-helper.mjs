// A FAKE container CLI for tests (no container engine runs where Hangar's tests run). Invoked as
// `node fake-container-cli.test-helper.mjs <stateDir> <docker arguments…>` by the wrapper that
// `fakeContainerCli()` writes. It records every argv, keeps a table of "containers" as JSON files, and
// "runs" an image by starting the local command its state's images.json maps the image to. It does
// not model images or layers, networking or port publishing (the app binds the host's 127.0.0.1
// itself), mounts (DATA_DIR is rewritten to the volume's host folder), cgroups, users or namespaces.
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

const [stateDir, ...argv] = process.argv.slice(2);
appendFileSync(join(stateDir, 'argv.log'), `${JSON.stringify(argv)}\n`);
const containers = join(stateDir, 'containers');
mkdirSync(containers, { recursive: true });
const config = JSON.parse(readFileSync(join(stateDir, 'config.json'), 'utf8'));

const fail = (code, message) => {
  process.stderr.write(`${message}\n`);
  process.exit(code);
};
const fileOf = (name) => join(containers, `${name}.json`);
// Another invocation may remove a container while this one reads it.
const load = (name) => {
  try {
    return JSON.parse(readFileSync(fileOf(name), 'utf8'));
  } catch {
    return null;
  }
};
const save = (c) => {
  writeFileSync(`${fileOf(c.name)}.tmp`, JSON.stringify(c));
  renameSync(`${fileOf(c.name)}.tmp`, fileOf(c.name));
};
const alive = (pid) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const running = (c) => c.state === 'running' && alive(c.pid);
const pulledFile = join(stateDir, 'pulled.json');
const pulled = () => (existsSync(pulledFile) ? JSON.parse(readFileSync(pulledFile, 'utf8')) : []);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const VALUE_FLAGS = new Set([
  '--name',
  '--label',
  '--publish',
  '--env',
  '--env-file',
  '--volume',
  '--gpus',
  '--device',
  '--cpus',
  '--memory',
  '--tmpfs',
  '--cap-drop',
  '--security-opt',
  '--user',
  '--network',
  '--entrypoint',
]);
const SHORT = { '-p': '--publish', '-e': '--env', '-v': '--volume' };
const BOOL_FLAGS = new Set(['--rm', '--read-only']);

function parseCreate(args) {
  const c = { labels: {}, env: {}, volumes: [], flags: {}, rm: false, gpus: [], devices: [] };
  let i = 0;
  for (; i < args.length; i++) {
    let arg = args[i];
    if (!arg.startsWith('-')) break;
    let value;
    if (arg.includes('=')) [arg, value] = [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)];
    arg = SHORT[arg] ?? arg;
    if (BOOL_FLAGS.has(arg)) {
      if (arg === '--rm') c.rm = true;
      c.flags[arg] = true;
      continue;
    }
    if (!VALUE_FLAGS.has(arg)) fail(125, `fake container CLI: unknown flag: ${arg}`);
    value ??= args[++i];
    if (arg === '--label') c.labels[value.slice(0, value.indexOf('='))] = value.slice(value.indexOf('=') + 1);
    else if (arg === '--env') c.env[value.slice(0, value.indexOf('='))] = value.slice(value.indexOf('=') + 1);
    else if (arg === '--env-file') {
      c.envFileMode = (statSync(value).mode & 0o777).toString(8);
      for (const line of readFileSync(value, 'utf8').split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        c.env[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
      }
    } else if (arg === '--volume') c.volumes.push(value.split(':'));
    else if (arg === '--gpus') c.gpus.push(value);
    else if (arg === '--device') c.devices.push(value);
    else c.flags[arg] = value;
  }
  c.image = args[i];
  c.args = args.slice(i + 1);
  if (!c.image) fail(125, 'fake container CLI: create needs an image');
  return c;
}

async function main() {
  const [verb, ...rest] = argv;
  if (verb === 'image' && rest[0] === 'inspect') {
    if (!pulled().includes(rest[1])) fail(1, `Error: No such image: ${rest[1]}`);
    process.stdout.write(`[{"RepoTags":["${rest[1]}"]}]\n`);
  } else if (verb === 'pull') {
    await sleep(config.pullDelayMs ?? 0);
    if (!config.images[rest[0]]) fail(1, `Error response from daemon: manifest unknown: ${rest[0]}`);
    writeFileSync(pulledFile, JSON.stringify([...pulled(), rest[0]]));
    process.stdout.write(`Status: Downloaded newer image for ${rest[0]}\n`);
  } else if (verb === 'create') {
    const c = parseCreate(rest);
    c.name = c.flags['--name'];
    if (load(c.name))
      fail(125, `Error response from daemon: Conflict. The container name "/${c.name}" is already in use`);
    if (!pulled().includes(c.image)) fail(125, `Error: No such image: ${c.image}`);
    c.state = 'created';
    save(c);
    process.stdout.write(`${c.name}-id\n`);
  } else if (verb === 'start') {
    const name = rest.find((a) => !a.startsWith('-'));
    const c = load(name);
    if (!c) fail(1, `Error: No such container: ${name}`);
    startContainer(c);
  } else if (verb === 'stop') {
    const seconds = Number(rest[rest.indexOf('-t') + 1] ?? 10);
    const c = load(rest.at(-1));
    if (!c) fail(1, `Error: No such container: ${rest.at(-1)}`);
    if (running(c)) {
      try {
        process.kill(c.pid, 'SIGTERM');
      } catch {
        // exited meanwhile
      }
      const deadline = Date.now() + seconds * 1000;
      while (alive(c.pid) && Date.now() < deadline) await sleep(20);
      if (alive(c.pid)) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
      while (alive(c.pid)) await sleep(20);
    }
    process.stdout.write(`${c.name}\n`);
  } else if (verb === 'kill') {
    const c = load(rest.at(-1));
    if (!c) fail(1, `Error: No such container: ${rest.at(-1)}`);
    if (!running(c)) fail(1, `Error response from daemon: container ${c.name} is not running`);
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      fail(1, `Error response from daemon: container ${c.name} is not running`);
    }
    process.stdout.write(`${c.name}\n`);
  } else if (verb === 'rm') {
    const c = load(rest.at(-1));
    if (!c) fail(1, `Error: No such container: ${rest.at(-1)}`);
    if (running(c)) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    rmSync(fileOf(c.name), { force: true });
    while (alive(c.pid)) await sleep(20);
    process.stdout.write(`${c.name}\n`);
  } else if (verb === 'ps') {
    const filters = rest.flatMap((a, i) =>
      rest[i - 1] === '--filter' && a.startsWith('label=') ? [a.slice(6)] : [],
    );
    for (const file of readdirSync(containers).filter((f) => f.endsWith('.json'))) {
      const c = load(file.slice(0, -5));
      if (!c) continue;
      const labels = Object.entries(c.labels).map(([k, v]) => `${k}=${v}`);
      if (!filters.every((f) => labels.includes(f))) continue;
      const state = running(c) ? 'running' : c.state === 'running' ? 'exited' : c.state;
      process.stdout.write(
        `${JSON.stringify({ ID: `${c.name}-id`, Names: c.name, Image: c.image, Labels: labels.join(','), State: state })}\n`,
      );
    }
  } else {
    fail(125, `fake container CLI: unsupported command: ${argv.join(' ')}`);
  }
}

function startContainer(c) {
  const image = config.images[c.image];
  if (!image) fail(125, `fake container CLI: no local command for image ${c.image}`);
  const entrypoint = c.flags['--entrypoint'];
  const command = entrypoint
    ? [entrypoint, ...c.args]
    : c.args.length > 0
      ? [...image.command.slice(0, 1), ...c.args]
      : image.command;
  const env = { PATH: process.env.PATH, ...c.env };
  for (const [host, inside] of c.volumes) if (env.DATA_DIR === inside) env.DATA_DIR = host;
  const child = spawn(command[0], command.slice(1), {
    cwd: image.cwd,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.once('error', (err) => fail(127, `fake container CLI: ${err.message}`));
  save({ ...c, state: 'running', pid: child.pid });
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.once('exit', (code, signal) => {
    const current = load(c.name);
    if (current && c.rm) rmSync(fileOf(c.name), { force: true });
    else if (current) save({ ...current, state: 'exited', pid: null });
    process.exit(code ?? 128 + ({ SIGKILL: 9, SIGTERM: 15 }[signal] ?? 1));
  });
}

await main();
