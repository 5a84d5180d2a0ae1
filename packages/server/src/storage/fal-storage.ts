import { randomBytes } from 'node:crypto';
import { type Clock, type FileStore, isOpened, type ObjectInfo, PlatformError } from '@hangar/core';
import { createObjectQuota } from './object-quota.js';
import { signUploadGrant, type UploadGrant, verifyUploadGrant } from './upload-token.js';

/** What the storage service is built from. */
export interface FalStorageDeps {
  objects: FileStore;
  /** The upload-signing secret (HMAC). */
  secret: Buffer;
  clock: Clock;
  /** The server's public base URL (upload and file URLs are built on it). */
  publicUrl: () => string;
  maxObjectBytes: number;
  quotaBytes: (owner: string) => number;
  uploadUrlTtlMs: number;
}

/** `initiate` and `initiate-multipart` answer this, as fal does. */
export interface UploadTarget {
  upload_url: string;
  file_url: string;
}

/** A part as `complete` lists it (what a part PUT answered). */
export interface CompletedPart {
  partNumber: number;
  etag: string;
}

/** fal's storage API over an object store: signed upload URLs, multipart uploads, capability file URLs. */
export interface FalStorage {
  initiate(
    owner: string,
    body: unknown,
    lifecycleHeader: string | undefined,
    multipart: boolean,
  ): UploadTarget;
  /** Stores a single-part upload; `caller` is the owner of a key sent along, if any. */
  putObject(up: UploadCall, body: AsyncIterable<Uint8Array>, declaredBytes: number | null): Promise<void>;
  putPart(
    up: UploadCall,
    partNumber: number,
    body: AsyncIterable<Uint8Array>,
    declaredBytes: number | null,
  ): Promise<CompletedPart>;
  complete(up: UploadCall, body: unknown): Promise<UploadTarget>;
  /** The live object behind a `file_url`'s id and name, or STORAGE_OBJECT_NOT_FOUND. */
  find(id: string, name: string): Promise<ObjectInfo>;
  /** Deletes expired objects and the parts of abandoned uploads; returns how many keys went. */
  sweep(): Promise<number>;
  usage(owner: string): Promise<number>;
}

/** An upload URL as called: its id, its token, and the owner of a key sent with it (or null). */
export interface UploadCall {
  id: string;
  token: string | undefined;
  caller: string | null;
}

const OBJECTS = 'fal';
const PARTS = 'uploads';
const MAX_PARTS = 10_000;
/** Parts of an upload whose URL expired are kept this much longer (a `complete` just in time). */
const PARTS_GRACE_MS = 60_000;
const ID_RE = /^[A-Za-z0-9_-]{32}$/;

/** Creates the storage service. */
export function createFalStorage(deps: FalStorageDeps): FalStorage {
  const { objects } = deps;
  const quota = createObjectQuota(objects, [`${OBJECTS}/`, `${PARTS}/`], deps.quotaBytes);
  const writing = new Set<string>();
  const objectKey = (id: string) => `${OBJECTS}/${id}`;
  const fileUrl = (g: UploadGrant) => `${deps.publicUrl()}/files/${g.id}/${encodeURIComponent(g.fileName)}`;

  function grantFor(up: UploadCall, multipart: boolean): UploadGrant {
    if (!ID_RE.test(up.id)) throw new PlatformError('STORAGE_UPLOAD_URL_INVALID');
    const grant = verifyUploadGrant(deps.secret, up.token, up.id, deps.clock());
    if (grant.multipart !== multipart || (up.caller !== null && up.caller !== grant.owner)) {
      throw new PlatformError('STORAGE_UPLOAD_URL_INVALID');
    }
    return grant;
  }

  /** Runs `write` as the only writer of `slot`; a second concurrent writer is refused. */
  async function exclusive<T>(slot: string, write: () => Promise<T>): Promise<T> {
    if (writing.has(slot)) throw new PlatformError('STORAGE_UPLOAD_COMPLETED', 'This upload is in progress');
    writing.add(slot);
    try {
      return await write();
    } finally {
      writing.delete(slot);
    }
  }

  async function refuseDone(id: string): Promise<void> {
    if (await objects.head(objectKey(id))) throw new PlatformError('STORAGE_UPLOAD_COMPLETED');
  }

  function objectMeta(g: UploadGrant): Record<string, string> {
    const now = deps.clock();
    return {
      owner: g.owner,
      content_type: g.contentType,
      file_name: g.fileName,
      created_at: String(now),
      expires_at: g.lifetimeS === null ? '' : String(now + g.lifetimeS * 1000),
    };
  }

  /** Writes a metered body; whatever it charged is given back when the write fails. */
  async function metered(
    owner: string,
    key: string,
    body: AsyncIterable<Uint8Array>,
    max: number,
    meta: Record<string, string>,
  ) {
    const charged = { bytes: 0 };
    try {
      return await objects.put(key, quota.meter(owner, body, max, charged), meta);
    } catch (err) {
      quota.release(owner, charged.bytes);
      throw err;
    }
  }

  async function listParts(id: string): Promise<Map<number, ObjectInfo>> {
    const parts = new Map<number, ObjectInfo>();
    for await (const p of objects.list(`${PARTS}/${id}/`)) parts.set(Number(p.key.split('/')[2]), p);
    return parts;
  }

  async function removeParts(owner: string, parts: Iterable<ObjectInfo>): Promise<void> {
    for (const p of parts) if (await objects.delete(p.key)) quota.release(owner, p.bytes);
  }

  return {
    initiate(owner, body, lifecycleHeader, multipart) {
      const input = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
      const contentType =
        typeof input['content_type'] === 'string' && input['content_type'].length <= 255
          ? input['content_type']
          : 'application/octet-stream';
      const grant: UploadGrant = {
        id: randomBytes(24).toString('base64url'),
        owner,
        multipart,
        expiresAt: deps.clock() + deps.uploadUrlTtlMs,
        contentType,
        fileName: checkFileName(input['file_name']),
        lifetimeS: parseLifecycle(lifecycleHeader),
      };
      const token = signUploadGrant(deps.secret, grant);
      return {
        upload_url: `${deps.publicUrl()}/storage/upload/${grant.id}?token=${token}`,
        file_url: fileUrl(grant),
      };
    },
    async putObject(up, body, declaredBytes) {
      const grant = grantFor(up, false);
      if (declaredBytes !== null && declaredBytes > deps.maxObjectBytes) throw tooLarge(deps.maxObjectBytes);
      await quota.check(grant.owner, declaredBytes ?? 0);
      await exclusive(up.id, async () => {
        await refuseDone(up.id);
        await metered(grant.owner, objectKey(up.id), body, deps.maxObjectBytes, objectMeta(grant));
      });
    },
    async putPart(up, partNumber, body, declaredBytes) {
      const grant = grantFor(up, true);
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
        throw new PlatformError('STORAGE_PARTS_INVALID', `Part numbers run from 1 to ${MAX_PARTS}`);
      }
      return exclusive(`${up.id}/${partNumber}`, async () => {
        await refuseDone(up.id);
        const parts = await listParts(up.id);
        const previous = parts.get(partNumber);
        parts.delete(partNumber);
        const room = deps.maxObjectBytes - [...parts.values()].reduce((n, p) => n + p.bytes, 0);
        if (declaredBytes !== null && declaredBytes > room) throw tooLarge(deps.maxObjectBytes);
        await quota.check(grant.owner, declaredBytes ?? 0);
        const meta = { owner: grant.owner, upload_expires_at: String(grant.expiresAt) };
        const info = await metered(grant.owner, `${PARTS}/${up.id}/${partNumber}`, body, room, meta);
        if (previous) quota.release(grant.owner, previous.bytes);
        return { partNumber, etag: info.etag };
      });
    },
    async complete(up, body) {
      const grant = grantFor(up, true);
      return exclusive(up.id, async () => {
        if (await objects.head(objectKey(up.id))) return { upload_url: '', file_url: fileUrl(grant) };
        const listed = checkPartList(body);
        const uploaded = await listParts(up.id);
        const chosen = listed.map((p) => {
          const part = uploaded.get(p.partNumber);
          if (!part || part.etag !== p.etag.replace(/"/g, '').toLowerCase()) {
            throw new PlatformError(
              'STORAGE_PARTS_INVALID',
              `Part ${p.partNumber} was not uploaded with that etag`,
            );
          }
          return part;
        });
        const total = chosen.reduce((n, p) => n + p.bytes, 0);
        if (total > deps.maxObjectBytes) throw tooLarge(deps.maxObjectBytes);
        await objects.put(objectKey(up.id), concat(objects, chosen), objectMeta(grant));
        // The parts' bytes now count as the object's; parts never listed are given back.
        for (const p of chosen) await objects.delete(p.key);
        await removeParts(
          grant.owner,
          [...uploaded.values()].filter((p) => !chosen.includes(p)),
        );
        return { upload_url: '', file_url: fileUrl(grant) };
      });
    },
    async find(id, name) {
      const info = ID_RE.test(id) ? await objects.head(objectKey(id)) : null;
      if (!info || info.meta['file_name'] !== name) throw new PlatformError('STORAGE_OBJECT_NOT_FOUND');
      const expires = Number(info.meta['expires_at'] || Number.POSITIVE_INFINITY);
      if (deps.clock() >= expires) {
        if (await objects.delete(info.key)) quota.release(info.meta['owner'] ?? '', info.bytes);
        throw new PlatformError('STORAGE_OBJECT_NOT_FOUND');
      }
      return info;
    },
    async sweep() {
      const now = deps.clock();
      let removed = 0;
      for await (const o of objects.list(`${OBJECTS}/`)) {
        const expires = Number(o.meta['expires_at'] || Number.POSITIVE_INFINITY);
        if (now >= expires && (await objects.delete(o.key))) {
          quota.release(o.meta['owner'] ?? '', o.bytes);
          removed++;
        }
      }
      for await (const p of objects.list(`${PARTS}/`)) {
        const abandoned = now > Number(p.meta['upload_expires_at'] ?? 0) + PARTS_GRACE_MS;
        if (abandoned && !writing.has(p.key.split('/')[1] ?? '') && (await objects.delete(p.key))) {
          quota.release(p.meta['owner'] ?? '', p.bytes);
          removed++;
        }
      }
      return removed;
    },
    usage: (owner) => quota.usage(owner),
  };
}

async function* concat(objects: FileStore, parts: ObjectInfo[]): AsyncIterable<Uint8Array> {
  for (const p of parts) {
    const opened = await objects.open(p.key, { ifMatch: p.etag });
    if (!isOpened(opened)) {
      throw new PlatformError('STORAGE_PARTS_INVALID', 'A part changed while the upload completed');
    }
    yield* opened.body;
  }
}

function tooLarge(max: number): PlatformError {
  return new PlatformError(
    'STORAGE_OBJECT_TOO_LARGE',
    `The object exceeds storage.max_object_bytes (${max} bytes)`,
  );
}

/**
 * A file name as it will appear in the `file_url`: one path segment, never `.`/`..`, no separators or
 * control characters. A missing name becomes `file`.
 */
export function checkFileName(raw: unknown): string {
  if (raw === undefined || raw === null) return 'file';
  const name = typeof raw === 'string' ? raw.trim() : '';
  const invalid =
    name === '' ||
    name === '.' ||
    name === '..' ||
    Buffer.byteLength(name) > 255 ||
    /[/\\\u0000-\u001f\u007f]/.test(name);
  if (invalid) {
    throw new PlatformError(
      'STORAGE_FILE_NAME_INVALID',
      'file_name must be one path segment: no "/", "\\", control characters, "." or ".."',
    );
  }
  return name;
}

/** `X-Fal-Object-Lifecycle` → seconds to live, or null (no header, or no expiration in it). */
export function parseLifecycle(header: string | undefined): number | null {
  if (header === undefined || header === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(header);
  } catch {
    throw new PlatformError('STORAGE_LIFECYCLE_INVALID');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PlatformError('STORAGE_LIFECYCLE_INVALID');
  }
  const seconds = (parsed as Record<string, unknown>)['expiration_duration_seconds'];
  if (seconds === undefined || seconds === null) return null;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) {
    throw new PlatformError('STORAGE_LIFECYCLE_INVALID');
  }
  return seconds;
}

/** `complete`'s body: `{ parts: [{ partNumber, etag }] }` with part numbers exactly 1..N in order. */
function checkPartList(body: unknown): CompletedPart[] {
  const parts = (body as { parts?: unknown } | null)?.parts;
  const invalid = (why: string) => new PlatformError('STORAGE_PARTS_INVALID', why);
  if (!Array.isArray(parts) || parts.length === 0) throw invalid('parts must be a non-empty list');
  if (parts.length > MAX_PARTS) throw invalid(`at most ${MAX_PARTS} parts`);
  return parts.map((p: unknown, i) => {
    const part = p as Partial<CompletedPart> | null;
    if (typeof part?.etag !== 'string' || part.partNumber !== i + 1) {
      throw invalid('parts must be listed once each, numbered 1..N in order, each with its etag');
    }
    return { partNumber: part.partNumber, etag: part.etag };
  });
}
