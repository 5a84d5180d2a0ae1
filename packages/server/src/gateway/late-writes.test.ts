import { describe, expect, it } from 'vitest';
import { type LateWrite, LateWrites } from './late-writes.js';

describe('LateWrites', () => {
  it('fires writes once due, in order, and leaves later ones pending', () => {
    let now = 0;
    const late = new LateWrites(100, () => now);
    const fired: string[] = [];
    const write = (name: string): LateWrite => ({ dueAt: late.dueFromNow(), fire: () => fired.push(name) });
    late.add(write('a'));
    now = 40;
    late.add(write('b'));
    now = 99;
    late.fireDue();
    expect(fired).toEqual([]);
    now = 100;
    late.fireDue();
    expect(fired).toEqual(['a']);
    now = 500;
    late.add(write('c'));
    late.fireDue();
    expect(fired).toEqual(['a', 'b']);
    const d = write('d');
    late.add(d);
    late.drop(d);
    now = 10_000;
    late.fireDue();
    expect(fired).toEqual(['a', 'b', 'c']);
    late.stop();
  });

  it('fires due writes from its own timer', async () => {
    const late = new LateWrites(20, Date.now, 5);
    const fired = new Promise<number>((resolve) =>
      late.add({ dueAt: late.dueFromNow(), fire: () => resolve(1) }),
    );
    expect(await fired).toBe(1);
    late.stop();
  });
});
