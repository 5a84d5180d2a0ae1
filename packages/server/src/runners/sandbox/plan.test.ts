import { describe, expect, it } from 'vitest';
import { bwrapArgs, GPU_CONTROL_DEVICES, gpuDevices, type SandboxHost } from './plan.js';

/** A host whose /dev holds `devices` (and nothing else of note). */
function hostWith(devices: readonly string[]): SandboxHost {
  return { kind: (path) => (devices.includes(path) ? 'file' : null) };
}

const EIGHT_GPUS = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `/dev/nvidia${i}`);

describe('sandbox plan: GPU devices', () => {
  it("binds only the runner's own cards plus the control devices the host has", () => {
    const host = hostWith([...EIGHT_GPUS, '/dev/nvidiactl', '/dev/nvidia-uvm']);
    expect(gpuDevices(host, [2, 5])).toEqual([
      '--dev-bind',
      '/dev/nvidia2',
      '/dev/nvidia2',
      '--dev-bind',
      '/dev/nvidia5',
      '/dev/nvidia5',
      '--dev-bind',
      '/dev/nvidiactl',
      '/dev/nvidiactl',
      '--dev-bind',
      '/dev/nvidia-uvm',
      '/dev/nvidia-uvm',
    ]);
  });

  it('binds every control device when present, and nothing for a runner without GPUs', () => {
    const host = hostWith([...EIGHT_GPUS, ...GPU_CONTROL_DEVICES]);
    const binds = gpuDevices(host, [0]).filter((_, i) => i % 3 === 1);
    expect(binds).toEqual(['/dev/nvidia0', ...GPU_CONTROL_DEVICES]);
    expect(gpuDevices(host, [])).toEqual([]);
  });

  it('puts the binds after the fresh /dev in the bubblewrap arguments', () => {
    const host = hostWith([...EIGHT_GPUS, '/dev/nvidiactl']);
    const args = bwrapArgs(host, {
      uid: 1000,
      gid: 1000,
      appDir: '/srv/app',
      dataDir: '/srv/data',
      passwdFile: '/srv/passwd',
      groupFile: '/srv/group',
      tmpBytes: 1024,
      roPaths: [],
      env: {},
      command: ['node', 'app.js'],
      setprivPath: '/usr/bin/setpriv',
      infoFd: 3,
      blockFd: 4,
      gpuIndexes: [3],
    });
    const dev = args.indexOf('--dev');
    const bound = args.flatMap((a, i) => (a === '--dev-bind' ? [args[i + 1]] : []));
    expect(bound).toEqual(['/dev/nvidia3', '/dev/nvidiactl']);
    expect(args.indexOf('--dev-bind')).toBeGreaterThan(dev);
  });
});
