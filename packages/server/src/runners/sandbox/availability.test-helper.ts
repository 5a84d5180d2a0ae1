import { probeSandbox } from './probe.js';

const probe = probeSandbox(process.env['PATH'] ?? '', 'hangar-runners-probe');

/** Why runner sandboxes cannot be built on this machine, or null when they can. */
export const sandboxUnavailable: string | null = probe.ok ? null : probe.reason;

/**
 * `runners.isolation` for tests that need several owners: the sandbox where this machine can build it
 * (CI can), else `trusted`, so a contributor's machine without bubblewrap still runs them.
 */
export const multiTenantIsolation: 'auto' | 'trusted' = probe.ok ? 'auto' : 'trusted';
