import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Clock } from '@hangar/core';
import { pino } from 'pino';
import type { Config } from './config.js';
import { type AuthThrottle, createAuthThrottle } from './http/auth-throttle.js';
import type { SecretService } from './secrets/secret-service.js';
import { createTextLogDestination } from './telemetry/log-text.js';

// Small pieces of the composition root (main.ts), kept here so it reads top to bottom.

/** The failed-authentication throttle `limits.auth_failures` asks for, or undefined when it is off. */
export function authThrottleOf(config: Config, clock: Clock): AuthThrottle | undefined {
  const failures = config.limits.authFailures;
  if (failures.perAddress <= 0 && failures.perKey <= 0) return undefined;
  return createAuthThrottle({
    perAddress: failures.perAddress,
    perKey: failures.perKey,
    windowMs: failures.windowS * 1000,
    maxTracked: failures.maxTracked,
    clock,
  });
}

/** Checks the secrets keys (throwing a SecretsKeyError when they cannot open what is stored) and re-seals. */
export async function openSecrets(
  secrets: SecretService,
  logger: ReturnType<typeof createLogger>,
): Promise<void> {
  const report = await secrets.start();
  if (report.resealed > 0)
    logger.info({ resealed: report.resealed }, 'secrets re-sealed with the current key');
  for (const { owner, name } of report.unreadable) {
    logger.error({ owner, secret: name }, 'stored secret does not authenticate: set it again');
  }
}

/** pino on stdout: JSON lines, or readable text lines for a person at a terminal (`log_format`). */
export function createLogger(config: Config) {
  const options = { level: config.logLevel, base: undefined };
  const text = config.logFormat === 'text' || (config.logFormat === 'auto' && process.stdout.isTTY === true);
  return text ? pino(options, createTextLogDestination(process.stdout)) : pino(options);
}

/** App directories (those holding a hangar.json) directly under `root`. */
export function demoDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, 'hangar.json')))
    .map((e) => resolve(join(root, e.name)));
}
