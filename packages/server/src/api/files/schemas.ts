import { Type } from 'typebox';
import { MAX_LIST_LIMIT } from './list-cursor.js';

/** fal's "File or folder specification" (checksums are optional and never sent by us). */
export const FileEntrySchema = Type.Object(
  {
    path: Type.String({ description: 'Full file or folder path' }),
    name: Type.String({ description: 'Base name of the file or folder' }),
    created_time: Type.String({ format: 'date-time', description: 'Creation timestamp (UTC ISO 8601)' }),
    updated_time: Type.String({ format: 'date-time', description: 'Last update timestamp (UTC ISO 8601)' }),
    is_file: Type.Boolean({ description: 'True if this item is a file, false if it is a folder' }),
    size: Type.Number({ description: 'File size in bytes (0 for folders)' }),
    checksum_sha256: Type.Optional(Type.String({ description: 'Optional SHA256 checksum' })),
    checksum_md5: Type.Optional(Type.String({ description: 'Optional MD5 checksum' })),
  },
  { additionalProperties: false, description: 'File or folder specification' },
);

/** A listing: a bare array, one level deep. */
export const FileListSchema = Type.Array(FileEntrySchema);

/** Query of the list routes: Hangar's paging extension (without `limit`, the whole listing as fal answers). */
export const ListQuery = Type.Object({
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_LIST_LIMIT,
      description:
        'Hangar extension: answer at most this many entries; the next page is named by X-Hangar-Next-Cursor',
    }),
  ),
  cursor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 1024,
      description: 'Hangar extension: continue after the page that answered this X-Hangar-Next-Cursor',
    }),
  ),
});

/** The multi-segment path captured by a route's `*`. */
export const WildcardParams = Type.Object({ '*': Type.String() });

/** `POST /files/file/url/*` body. */
export const UploadFromUrlBody = Type.Object(
  { url: Type.String({ format: 'uri', description: 'Publicly accessible URL for the file' }) },
  { additionalProperties: false },
);

/** `POST /files/file/local/*` query. */
export const UploadLocalQuery = Type.Object({
  unzip: Type.Optional(
    Type.Union([Type.Boolean(), Type.Null()], {
      default: false,
      description: 'If true and the uploaded file is a ZIP, it is extracted into the folder the path names',
    }),
  ),
});

/** `POST /files/move/*` body (extension). */
export const MoveBody = Type.Object(
  { destination: Type.String({ minLength: 1, description: 'New path, relative to the storage root' }) },
  { additionalProperties: false },
);

/** The bare `true` fal answers on successful writes. */
export const OkSchema = Type.Boolean({ description: 'Indicates whether the operation was successful' });
