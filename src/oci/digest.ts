import { createHash } from 'node:crypto';
import { PinwardenError } from '../core/errors.ts';
import type { Descriptor, Digest } from './types.ts';

const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

export function isDigest(value: string): value is Digest {
  return DIGEST_PATTERN.test(value);
}

export function sha256Digest(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Bytes are untrusted until this passes: exact size, then exact sha256. */
export function assertMatchesDescriptor(bytes: Uint8Array, descriptor: Pick<Descriptor, 'digest' | 'size'>): void {
  if (bytes.byteLength !== descriptor.size) {
    throw new PinwardenError(
      'PW_DIGEST_MISMATCH',
      `content of ${descriptor.digest} is ${bytes.byteLength} bytes, expected ${descriptor.size}`,
    );
  }
  const actual = sha256Digest(bytes);
  if (actual !== descriptor.digest) {
    throw new PinwardenError('PW_DIGEST_MISMATCH', `content digest ${actual} does not match ${descriptor.digest}`);
  }
}
