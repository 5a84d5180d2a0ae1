import { connect } from 'node:net';
import type { RunnerHandle } from '@hangar/core';
import type { Pool } from 'undici';

/** Per-probe limit for a health check answer or a TCP connection. */
const HEALTH_TIMEOUT_MS = 2000;

/** True when the runner answers 200 on its health path; any other answer, an error or a timeout is false. */
export async function probeHealth(http: Pool, path: string): Promise<boolean> {
  try {
    const res = await http.request({
      path,
      method: 'GET',
      headersTimeout: HEALTH_TIMEOUT_MS,
      bodyTimeout: HEALTH_TIMEOUT_MS,
    });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

/** Logged while another process answers on a starting runner's port (the app will fail to bind it). */
export const FOREIGN_LISTENER =
  'another process answers on the runner’s port; waiting for the app’s own listener';

/**
 * A starting runner's readiness: `ready` when its health path answers 200 and the listener belongs to
 * the runner's processes, `foreign` when the answer came from another process holding the port.
 */
export async function probeReady(
  http: Pool,
  path: string,
  handle: RunnerHandle | null,
): Promise<'ready' | 'unhealthy' | 'foreign'> {
  if (!(await probeHealth(http, path))) return 'unhealthy';
  if (!handle?.listenerIsOurs) return 'ready';
  // A check that cannot be made (an unreadable /proc) leaves the decision to the health probe.
  const ours = await handle.listenerIsOurs().catch(() => true);
  return ours ? 'ready' : 'foreign';
}

/** True when the runner's HTTP port (from its base URL) still accepts a TCP connection. */
export function probeTcp(baseUrl: string): Promise<boolean> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(HEALTH_TIMEOUT_MS, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}
