import { gzipSync } from 'node:zlib';
import { Header } from 'tar';

/** One raw tar entry, written as given (no checks), so tests can build hostile bundles. */
export interface RawEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  body?: string | Buffer;
  linkpath?: string;
  mode?: number;
}

/** A gzip'd tar of `entries`, in order. */
export function tarGz(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = typeof e.body === 'string' ? Buffer.from(e.body) : (e.body ?? Buffer.alloc(0));
    const type = e.type ?? 'File';
    const header = new Header({
      path: e.path,
      type,
      mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      size: type === 'File' ? body.length : 0,
      linkpath: e.linkpath,
      mtime: new Date(0),
    });
    header.encode();
    blocks.push(header.block as Buffer);
    if (type === 'File' && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** An async iterable of one buffer (what the store reads an upload from). */
export async function* bytesOf(buf: Buffer): AsyncIterable<Uint8Array> {
  yield buf;
}
