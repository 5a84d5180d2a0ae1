import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';

/** A JSON Web Key Set, as served at `/.well-known/jwks.json`. */
export interface Jwks {
  keys: Record<string, unknown>[];
}

/** Signs webhook deliveries the way fal does and publishes the verification key. */
export interface WebhookSigner {
  readonly keyId: string;
  jwks(): Jwks;
  /** Hex Ed25519 signature over `request_id\nuser_id\ntimestamp\nsha256hex(body)`. */
  sign(requestId: string, userId: string, timestamp: number, body: Buffer): string;
}

/** The exact byte string fal's webhook signature covers. */
export function webhookSigningInput(
  requestId: string,
  userId: string,
  timestamp: number,
  body: Buffer,
): Buffer {
  const digest = createHash('sha256').update(body).digest('hex');
  return Buffer.from(`${requestId}\n${userId}\n${timestamp}\n${digest}`);
}

/** Creates a signer from a PKCS#8 PEM Ed25519 key, or from a fresh key pair when none is given. */
export function createWebhookSigner(privateKeyPem?: string): WebhookSigner {
  const privateKey: KeyObject = privateKeyPem
    ? createPrivateKey(privateKeyPem)
    : generateKeyPairSync('ed25519').privateKey;
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('webhook signing key must be Ed25519');
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as Record<string, unknown>;
  const keyId = createHash('sha256').update(String(publicJwk['x'])).digest('base64url').slice(0, 16);
  const jwk = { ...publicJwk, kid: keyId, use: 'sig', alg: 'EdDSA' };
  return {
    keyId,
    jwks: () => ({ keys: [jwk] }),
    sign: (requestId, userId, timestamp, body) =>
      sign(null, webhookSigningInput(requestId, userId, timestamp, body), privateKey).toString('hex'),
  };
}

/** Verifies a webhook signature against a JWK set (what a receiver does; used by tests and tools). */
export function verifyWebhookSignature(
  jwks: Jwks,
  headers: { requestId: string; userId: string; timestamp: string; signature: string },
  body: Buffer,
): boolean {
  const input = webhookSigningInput(headers.requestId, headers.userId, Number(headers.timestamp), body);
  const signature = Buffer.from(headers.signature, 'hex');
  return jwks.keys.some((jwk) => {
    const key = createPublicKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' });
    return verify(null, input, key, signature);
  });
}
