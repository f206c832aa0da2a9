// Sizes as users write them (4G, 512M, 64K, 4096) and as reports show them.
import { UsageError, msg } from './errors.js';

const UNITS: Record<string, number> = { '': 1, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

export function parseSize(opt: string, text: string): number {
  const m = /^(\d+)(?:([KMGT])(?:i?B)?|B)?$/i.exec(text.trim());
  if (!m) throw new UsageError(msg.badSize(opt, text));
  const unit = (m[2] ?? '').toUpperCase();
  const value = Number(m[1]) * UNITS[unit]!;
  if (!Number.isSafeInteger(value)) throw new UsageError(msg.sizeTooLarge(opt, text));
  return value;
}

/** The units sizes are shown in, largest first. */
const SHOWN = [['T', 2 ** 40], ['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10]] as const;

export function formatSize(bytes: number): string {
  for (const [u, f] of SHOWN) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${u}`;
  }
  return `${bytes}`;
}

/** A size to read at a glance: exact when it is a whole number of its largest unit (4G), else
 * that unit to one decimal, rounded down (7.6G for 8,000,000 KiB). */
export function roughSize(bytes: number): string {
  for (const [u, f] of SHOWN) {
    // Rounded down, so a size just below a limit never prints as the limit (1023.9M, not 1024.0M).
    if (bytes >= f) return bytes % f === 0 ? `${bytes / f}${u}` : `${(Math.floor((bytes / f) * 10) / 10).toFixed(1)}${u}`;
  }
  return `${bytes}`;
}

export function parseIntOption(opt: string, text: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(msg.badInt(opt, text, min, max));
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new UsageError(msg.badInt(opt, text, min, max));
  return v;
}

/** `0x` and the u64 bit pattern in hex, zero-padded to `width` digits (the kernel's 0x%016llx: 16). */
export function hex(v: bigint | number, width = 0): string {
  const b = BigInt(v);
  return '0x' + BigInt.asUintN(64, b).toString(16).padStart(width, '0');
}
