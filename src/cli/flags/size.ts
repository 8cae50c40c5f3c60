/**
 * Byte sizes on the command line: a plain count (`1048576`) or a number with a unit, binary (`KiB`, `MiB`,
 * `GiB`, and the short `K`, `M`, `G`) or decimal (`KB`, `MB`, `GB`), as `kubectl` and `docker` people write them.
 */
import { PinwardenError } from '../../core/errors.ts';

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  ki: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
};

export function sizeFlag(flag: string, value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  const unit = match ? UNITS[(match[2] ?? '').toLowerCase()] : undefined;
  const bytes = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `${flag} must be a positive size such as 500MiB, 2GiB or 1048576, got '${value.slice(0, 40)}'`,
    );
  }
  return bytes;
}

export function positiveIntegerFlag(flag: string, value: string): number {
  const number = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(number) || number <= 0)
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `${flag} must be a positive whole number, got '${value.slice(0, 40)}'`,
    );
  return number;
}
