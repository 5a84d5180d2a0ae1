import type { Command } from 'commander';
import { serveBanner } from '../banner.js';
import { bold, CliError, dim, EXIT } from '../output.js';

interface ServeOptions {
  port?: string;
  host?: string;
  demo?: boolean;
  redisUrl?: string;
}

/** `hangar serve`: runs the platform in this process until SIGTERM/SIGINT. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the Hangar server (gateway, runners, Platform API, dashboard)')
    .option('-p, --port <port>', 'port to listen on (HANGAR_PORT, default 8080)')
    .option('--host <host>', 'address to bind (HANGAR_HOST, default 127.0.0.1)')
    .option('--redis-url <url>', "cluster mode: the cluster's Redis (HANGAR_REDIS_URL)")
    .option('--demo', 'deploy the demo apps from examples/ at start')
    .addHelpText('after', '\nExample:\n  $ hangar serve --port 8080 --home ./.hangar --demo\n')
    .action(async (opts: ServeOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { home?: string };
      // Loaded on demand: the server's dependencies are heavy, and only `serve` and local `keys` need them.
      const { ConfigError, loadConfig, startServer } = await import('@hangar/server');
      let config: ReturnType<typeof loadConfig>;
      try {
        config = loadConfig(
          { port: opts.port, host: opts.host, home: g.home, 'redis-url': opts.redisUrl },
          process.env,
          process.cwd(),
        );
      } catch (err) {
        if (err instanceof ConfigError) throw new CliError(err.message, EXIT.usage);
        throw err;
      }
      // Signals are taken from before the start: one that arrives while the server starts drains it once up.
      let server: Awaited<ReturnType<typeof startServer>> | null = null;
      let stopping: string | null = null;
      const drain = (s: NonNullable<typeof server>, signal: string) => {
        process.stdout.write(dim(`${signal}: draining…\n`));
        s.shutdown().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = signal;
        if (server) drain(server, signal);
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      // Start-up checks of the configuration that need the state (the secrets keys) fail as ConfigError too.
      server = await startServer(config, { demo: opts.demo ?? false }).catch((err: unknown) => {
        throw err instanceof ConfigError ? new CliError(err.message, EXIT.usage) : err;
      });
      const banner = serveBanner(
        {
          url: server.url,
          owner: config.owner,
          adminKey: server.adminKey,
          adminKeyPath: config.adminKeyPath,
          deployed: server.deployed,
          cwd: process.cwd(),
        },
        { bold, dim },
      );
      process.stdout.write(`${banner.join('\n')}\n`);
      if (stopping) drain(server, stopping);
      await new Promise(() => {});
    });
}
