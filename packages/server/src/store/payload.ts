import { JsonText } from '@hangar/core';

/** Default cap on stored `json_input`/`json_output` text, in UTF-8 bytes. */
export const DEFAULT_JSON_CAP = 64 * 1024;

/**
 * Serialises a request payload for storage: JSON text when it fits `cap` bytes, else a
 * `{"truncated":true,"size":N}` marker; null for an absent payload or when `storeIo` is off.
 */
export function encodePayload(value: unknown, storeIo: boolean, cap: number): string | null {
  if (!storeIo || value === undefined || value === null) return null;
  const text = value instanceof JsonText ? value.text : JSON.stringify(value);
  if (text === undefined) return null;
  // A JS string never takes more than 3 UTF-8 bytes per UTF-16 unit: skip the byte count when it cannot exceed.
  if (text.length * 3 <= cap) return text;
  const size = Buffer.byteLength(text);
  return size <= cap ? text : `{"truncated":true,"size":${size}}`;
}

/** Parses stored payload text back to a value (null when nothing was stored). */
export function decodePayload(text: string | null | undefined): unknown {
  return text == null ? null : JSON.parse(text);
}
