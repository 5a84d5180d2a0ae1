import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-file.js';
import { parseStorageLocation } from './storage-location.js';

const HOME_STORAGE = '/srv/hangar/storage';

describe('HANGAR_STORAGE_URL', () => {
  it('defaults to the home folder on this disk, and takes an absolute file URL', () => {
    expect(parseStorageLocation({}, undefined, HOME_STORAGE)).toEqual({ kind: 'disk', root: HOME_STORAGE });
    expect(
      parseStorageLocation({ HANGAR_STORAGE_URL: 'file:///mnt/big%20disk/hangar' }, undefined, HOME_STORAGE),
    ).toEqual({ kind: 'disk', root: '/mnt/big disk/hangar' });
  });

  it('reads s3://bucket/prefix with AWS defaults, and an endpoint with path-style addressing', () => {
    expect(
      parseStorageLocation({ HANGAR_STORAGE_URL: 's3://models-bucket' }, undefined, HOME_STORAGE),
    ).toEqual({
      kind: 's3',
      bucket: 'models-bucket',
      prefix: '',
      region: 'us-east-1',
      forcePathStyle: false,
      requestTimeoutMs: 30_000,
      maxAttempts: 3,
    });
    const minio = parseStorageLocation(
      {
        HANGAR_STORAGE_URL: 's3://team.data/hangar/prod/',
        HANGAR_S3_ENDPOINT: 'http://minio.internal:9000',
        AWS_REGION: 'eu-west-1',
      },
      { access_key_id: 'AK', secret_access_key: 'SK', request_timeout_ms: 5000 },
      HOME_STORAGE,
    );
    expect(minio).toMatchObject({
      bucket: 'team.data',
      prefix: 'hangar/prod/',
      endpoint: 'http://minio.internal:9000',
      region: 'eu-west-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
      requestTimeoutMs: 5000,
    });
    expect(
      parseStorageLocation(
        { HANGAR_STORAGE_URL: 's3://abc', HANGAR_S3_REGION: 'ap-south-1', AWS_REGION: 'eu-west-1' },
        { force_path_style: true },
        HOME_STORAGE,
      ),
    ).toMatchObject({ region: 'ap-south-1', forcePathStyle: true });
  });

  it.each([
    ['relative.txt', /file:\/\/\/path or s3:\/\/bucket/],
    ['http://example.com/x', /must use file: or s3:/],
    ['file://host/path', /no host or query/],
    ['s3://A_B', /not a valid bucket name/],
    ['s3://ab', /not a valid bucket name/],
    ['s3://user:pw@bucket/x', /no credentials, port or query/],
    ['s3://bucket/a/../b', /"\." or "\.\."/],
  ])('refuses %s', (url, message) => {
    expect(() => parseStorageLocation({ HANGAR_STORAGE_URL: url }, undefined, HOME_STORAGE)).toThrow(
      ConfigError,
    );
    expect(() => parseStorageLocation({ HANGAR_STORAGE_URL: url }, undefined, HOME_STORAGE)).toThrow(message);
  });

  it('refuses a bad endpoint and half a key pair', () => {
    const s3 = { HANGAR_STORAGE_URL: 's3://bucket' };
    expect(() =>
      parseStorageLocation({ ...s3, HANGAR_S3_ENDPOINT: 'minio:9000' }, undefined, HOME_STORAGE),
    ).toThrow(/HANGAR_S3_ENDPOINT/);
    expect(() => parseStorageLocation(s3, { access_key_id: 'AK' }, HOME_STORAGE)).toThrow(/go together/);
  });
});
