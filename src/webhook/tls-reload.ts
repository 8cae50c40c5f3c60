/**
 * Serving certificate and key from files, reloaded without a restart: on change the new pair is checked
 * (it must parse, match and be usable by TLS >= 1.2) and handed to `https.Server#setSecureContext`. A bad new
 * pair is logged and the old context keeps serving, so a half-written rotation never takes the webhook down.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { PinwardenError } from '../core/errors.ts';
import { watchFiles } from './file-watch.ts';
import type { FileWatch, FileWatchOptions } from './file-watch.ts';

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
  /** Subject and expiry of the leaf, for logs. */
  summary: string;
  fingerprint: string;
}

export const MIN_TLS_VERSION = 'TLSv1.2';

export async function loadTlsPair(certFile: string, keyFile: string): Promise<TlsPair> {
  const [cert, key] = await Promise.all([readPem(certFile, '--tls-cert'), readPem(keyFile, '--tls-key')]);
  try {
    createSecureContext({ cert, key, minVersion: MIN_TLS_VERSION });
    const leaf = new X509Certificate(cert);
    return { cert, key, summary: `${leaf.subject.replace(/\n/g, ', ')} (valid until ${leaf.validTo})`, fingerprint: leaf.fingerprint256 };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new PinwardenError('PW_INPUT_INVALID', `TLS pair ${certFile} + ${keyFile} is not usable: ${why}`, { cause: error });
  }
}

async function readPem(file: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PinwardenError('PW_INPUT_INVALID', `${flag} ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'unreadable'}`);
  }
}

export interface TlsReloadOptions extends FileWatchOptions {
  certFile: string;
  keyFile: string;
  server: Server;
  current: TlsPair;
  logger: Logger;
  onReload?: (outcome: 'ok' | 'error', pair?: TlsPair) => void;
}

export function watchTlsPair(options: TlsReloadOptions): FileWatch {
  let current = options.current;
  const reload = async (): Promise<void> => {
    try {
      const next = await loadTlsPair(options.certFile, options.keyFile);
      if (hashOf(next) === hashOf(current)) return;
      options.server.setSecureContext({ cert: next.cert, key: next.key, minVersion: MIN_TLS_VERSION });
      current = next;
      options.logger.info({ certificate: next.summary, fingerprint: next.fingerprint }, 'serving certificate reloaded');
      options.onReload?.('ok', next);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      options.logger.error({ code: error instanceof PinwardenError ? error.code : 'PW_INTERNAL' }, `serving certificate not reloaded, keeping the old one: ${message}`);
      options.onReload?.('error');
    }
  };
  return watchFiles([options.certFile, options.keyFile], () => void reload(), options);
}

function hashOf(pair: TlsPair): string {
  return createHash('sha256').update(pair.cert).update('\u0000').update(pair.key).digest('hex');
}
