/**
 * Serving certificate and key (and, with `--client-ca-file`, the client CA bundle) from files, reloaded
 * without a restart: on change the new pair is checked (it must parse, match, be usable by TLS >= 1.2, be valid
 * now, and cover every name the current certificate covers) and handed to `https.Server#setSecureContext`. A
 * refused pair is logged and the old context keeps serving, so a half-written or wrong rotation never takes
 * a serving process down or changes the names its clients dial (the apiserver, for the webhook).
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { Server } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { PinwardenError, toPinwardenError } from '../core/errors.ts';
import { watchFiles } from './file-watch.ts';
import { readInputFile } from './read-file.ts';
import type { FileWatch, FileWatchOptions } from './file-watch.ts';
import { certificateFacts, reloadRefusal, secureContextOptions } from './tls-policy.ts';
import type { CertificateFacts } from './tls-policy.ts';

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
  /** Subject and expiry of the leaf, for logs. */
  summary: string;
  fingerprint: string;
  facts: CertificateFacts;
  /** The client CA bundle (`--client-ca-file`), read with the pair. */
  clientCa?: Buffer;
}

export { MIN_TLS_VERSION } from './tls-policy.ts';

export async function loadTlsPair(certFile: string, keyFile: string, clientCaFile?: string): Promise<TlsPair> {
  const [cert, key, clientCa] = await Promise.all([
    readPem(certFile, '--tls-cert'),
    readPem(keyFile, '--tls-key'),
    clientCaFile !== undefined ? readPem(clientCaFile, '--client-ca-file') : Promise.resolve(undefined),
  ]);
  if (clientCa !== undefined) checkClientCa(clientCa, clientCaFile ?? '');
  try {
    createSecureContext(secureContextOptions({ cert, key, ...(clientCa ? { clientCa } : {}) }));
    const leaf = new X509Certificate(cert);
    return {
      cert,
      key,
      summary: `${leaf.subject.replace(/\n/g, ', ')} (valid until ${leaf.validTo})`,
      fingerprint: leaf.fingerprint256,
      facts: certificateFacts(cert),
      ...(clientCa ? { clientCa } : {}),
    };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new PinwardenError('PW_INPUT_INVALID', `TLS pair ${certFile} + ${keyFile} is not usable: ${why}`, {
      cause: error,
    });
  }
}

/** The CA bundle must hold at least one parsable CA certificate: an empty file would silently trust nothing. */
function checkClientCa(pem: Buffer, file: string): void {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    if (blocks.length === 0) throw new Error('no PEM certificate in it');
    for (const block of blocks) new X509Certificate(block);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new PinwardenError('PW_INPUT_INVALID', `--client-ca-file ${file} is not usable: ${why}`, { cause: error });
  }
}

function readPem(file: string, flag: string): Promise<Buffer> {
  return readInputFile(file, `${flag} ${file}`);
}

export interface TlsReloadOptions extends FileWatchOptions {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
  /** Validity is judged at this time (default: now). */
  now?: () => Date;
  server: Server;
  current: TlsPair;
  logger: Logger;
  onReload?: (outcome: 'ok' | 'error', pair?: TlsPair) => void;
}

export function watchTlsPair(options: TlsReloadOptions): FileWatch {
  let current = options.current;
  const reload = async (): Promise<void> => {
    try {
      const next = await loadTlsPair(options.certFile, options.keyFile, options.clientCaFile);
      if (hashOf(next) === hashOf(current)) return;
      const refusal = reloadRefusal(current.facts, next.facts, (options.now ?? (() => new Date()))());
      if (refusal) throw new PinwardenError('PW_INPUT_INVALID', refusal);
      options.server.setSecureContext(
        secureContextOptions({ cert: next.cert, key: next.key, ...(next.clientCa ? { clientCa: next.clientCa } : {}) }),
      );
      current = next;
      options.logger.info({ certificate: next.summary, fingerprint: next.fingerprint }, 'serving certificate reloaded');
      options.onReload?.('ok', next);
    } catch (error) {
      const failure = toPinwardenError(error, 'PW_INPUT_INVALID');
      options.logger.error(
        { code: failure.code },
        `serving certificate not reloaded, keeping the old one: ${failure.message}`,
      );
      options.onReload?.('error');
    }
  };
  const files = [
    options.certFile,
    options.keyFile,
    ...(options.clientCaFile !== undefined ? [options.clientCaFile] : []),
  ];
  return watchFiles(files, () => void reload(), options);
}

function hashOf(pair: TlsPair): string {
  return createHash('sha256')
    .update(pair.cert)
    .update('\u0000')
    .update(pair.key)
    .update('\u0000')
    .update(pair.clientCa ?? '')
    .digest('hex');
}
