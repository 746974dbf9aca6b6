import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';

/** A TLS setting that cannot be used; its message is one line naming the setting. */
export class TlsSettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsSettingError';
  }
}

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

type TlsSettings = Config['server']['tls'];

function firstLine(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return (e.code && e.code.startsWith('E') ? e.code : String(e.message ?? err)).split('\n')[0]!;
}

/** Reads and checks the certificate and key: each must be readable PEM, and the key must be the certificate's. */
export function readTlsFiles(settings: TlsSettings): TlsFiles {
  const read = (name: 'cert' | 'key'): Buffer => {
    try {
      return readFileSync(settings[name]);
    } catch (err) {
      throw new TlsSettingError(`server.tls.${name}: cannot read ${settings[name]}: ${firstLine(err)}`);
    }
  };
  const files = { cert: read('cert'), key: read('key') };
  for (const name of ['cert', 'key'] as const) {
    try {
      createSecureContext({ [name]: files[name] });
    } catch (err) {
      throw new TlsSettingError(`server.tls.${name}: ${settings[name]} is not a usable PEM ${name === 'cert' ? 'certificate' : 'private key'}: ${firstLine(err)}`);
    }
  }
  try {
    createSecureContext(files);
  } catch (err) {
    throw new TlsSettingError(`server.tls.key: ${settings.key} is not the private key of the certificate in ${settings.cert}: ${firstLine(err)}`);
  }
  return files;
}

/** What reloading needs of the server: tls.Server and http2's secure server both have it. */
export interface SecureContextTarget {
  setSecureContext(options: TlsFiles): void;
}

/**
 * Swaps in new certificates without a restart: on `reload()` (SIGHUP) and when the files change.
 * Open connections keep the context they were made with; new handshakes get the new one. Files
 * that do not load (half-written, mismatched) are logged and the current certificate stays.
 */
export class CertificateReloader {
  private readonly onChange = () => this.reload();

  constructor(
    private readonly server: SecureContextTarget,
    private readonly settings: TlsSettings,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.settings.watchInterval === 0) return;
    for (const file of [this.settings.cert, this.settings.key]) watchFile(file, { interval: this.settings.watchInterval, persistent: false }, this.onChange);
  }

  /** Loads the files and swaps them in; false when they did not load. */
  reload(): boolean {
    let files: TlsFiles;
    try {
      files = readTlsFiles(this.settings);
    } catch (err) {
      this.log.error({ event: 'tls.reload_failed', err: (err as Error).message }, 'new certificate not loaded; the current one stays');
      return false;
    }
    this.server.setSecureContext(files);
    this.log.info({ event: 'tls.reloaded', cert: this.settings.cert }, 'certificate reloaded');
    return true;
  }

  stop(): void {
    for (const file of [this.settings.cert, this.settings.key]) unwatchFile(file, this.onChange);
  }
}
