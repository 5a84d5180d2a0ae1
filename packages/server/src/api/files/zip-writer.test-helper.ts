import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { constants, deflateRawSync, crc32 as zlibCrc32 } from 'node:zlib';

// A minimal ZIP writer for tests: it can build the hostile archives real tools refuse to make.

/** One archive entry; `mode` is the Unix mode (type bits included), `declaredSize` may lie. */
export interface ZipEntrySpec {
  name: string;
  data?: Buffer | string;
  mode?: number;
  declaredSize?: number;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Builds a deflate-compressed ZIP archive from the given entries. */
export function buildZip(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = Buffer.from(e.data ?? '');
    const packed = deflateRawSync(data);
    const isDir = e.name.endsWith('/');
    const mode = e.mode ?? (isDir ? 0o040755 : 0o100644);
    const size = e.declaredSize ?? data.length;
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(0, 10);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/**
 * Writes, streaming, a ZIP holding one file of `blocks` MiB of zeros (≈1000:1 compressed): each MiB is
 * compressed once and repeated, so gigabytes are never held or deflated. `declaredSize` may lie.
 */
export async function writeZerosZip(
  path: string,
  name: string,
  blocks: number,
  declaredSize = blocks * (1 << 20),
): Promise<void> {
  const zero = Buffer.alloc(1 << 20);
  const block = deflateRawSync(zero, { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  const tail = deflateRawSync(Buffer.alloc(0));
  let crc = 0;
  for (let i = 0; i < blocks; i++) crc = zlibCrc32(zero, crc);
  const packed = blocks * block.length + tail.length;
  const fileName = Buffer.from(name, 'utf8');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc >>> 0, 14);
  local.writeUInt32LE(packed, 18);
  local.writeUInt32LE(declaredSize, 22);
  local.writeUInt16LE(fileName.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc >>> 0, 16);
  central.writeUInt32LE(packed, 20);
  central.writeUInt32LE(declaredSize, 24);
  central.writeUInt16LE(fileName.length, 28);
  central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fileName.length, 12);
  end.writeUInt32LE(local.length + fileName.length + packed, 16);
  const out = createWriteStream(path);
  const write = async (buf: Buffer) => {
    if (!out.write(buf)) await once(out, 'drain');
  };
  await write(Buffer.concat([local, fileName]));
  for (let i = 0; i < blocks; i++) await write(block);
  await write(Buffer.concat([tail, central, fileName, end]));
  out.end();
  await once(out, 'close');
}
