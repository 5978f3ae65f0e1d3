import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** What is stored for one secret: everything but the master key. */
export interface SealedSecret {
  ciphertext: string;
  iv: string;
  authTag: string;
  /** Fingerprint of the master key that sealed it, so the key can rotate. */
  keyVersion: string;
}

export class KeyVaultError extends Error {}

const IV_BYTES = 12; // GCM's recommended nonce size

function parseKey(material: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(material) ? Buffer.from(material, 'hex') : Buffer.from(material, 'base64');
  if (key.length !== 32) throw new KeyVaultError('An encryption key must be 32 bytes');
  return key;
}

/** Short, stable, non-reversible id of a key: sha256 of the key, 8 hex characters. */
export function keyFingerprint(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * AES-256-GCM with a random IV per secret and the auth tag stored beside it. Opens
 * secrets sealed under the current key or the previous one (during rotation); seals
 * only under the current one.
 */
export class KeyVault {
  private readonly current: { version: string; key: Buffer };
  private readonly keys = new Map<string, Buffer>();

  constructor(currentKey: string, previousKey?: string) {
    const key = parseKey(currentKey);
    this.current = { version: keyFingerprint(key), key };
    this.keys.set(this.current.version, key);
    if (previousKey) {
      const previous = parseKey(previousKey);
      this.keys.set(keyFingerprint(previous), previous);
    }
  }

  get currentVersion(): string {
    return this.current.version;
  }

  seal(plaintext: string, associatedData?: string): SealedSecret {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    if (associatedData) cipher.setAAD(Buffer.from(associatedData));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      ciphertext: ciphertext.toString('base64'),
      iv: iv.toString('base64'),
      authTag: cipher.getAuthTag().toString('base64'),
      keyVersion: this.current.version,
    };
  }

  open(sealed: SealedSecret, associatedData?: string): string {
    const key = this.keys.get(sealed.keyVersion);
    if (!key) throw new KeyVaultError(`No key for version ${sealed.keyVersion}: set ENCRYPTION_KEY_PREVIOUS to the key it was sealed with`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
      if (associatedData) decipher.setAAD(Buffer.from(associatedData));
      decipher.setAuthTag(Buffer.from(sealed.authTag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new KeyVaultError('Secret failed authentication: tampered with, or sealed for another owner');
    }
  }

  needsRotation(sealed: Pick<SealedSecret, 'keyVersion'>): boolean {
    return sealed.keyVersion !== this.current.version;
  }

  /** Re-seals under the current key (the rotation command uses it). */
  reseal(sealed: SealedSecret, associatedData?: string): SealedSecret {
    return this.seal(this.open(sealed, associatedData), associatedData);
  }
}
