import { KeyVault, KeyVaultError } from './key-vault';

const KEY_A = 'a'.repeat(64);
const KEY_B = Buffer.alloc(32, 7).toString('base64');

describe('KeyVault', () => {
  it('round-trips a secret with a random IV each time', () => {
    const vault = new KeyVault(KEY_A);
    const one = vault.seal('sk-test-1234', 'user-1:openai');
    const two = vault.seal('sk-test-1234', 'user-1:openai');
    expect(one.ciphertext).not.toContain('sk-test');
    expect(one.iv).not.toBe(two.iv);
    expect(one.ciphertext).not.toBe(two.ciphertext);
    expect(vault.open(one, 'user-1:openai')).toBe('sk-test-1234');
  });

  it('detects a tampered ciphertext, tag or IV', () => {
    const vault = new KeyVault(KEY_A);
    const sealed = vault.seal('sk-test-1234');
    const flip = (b64: string) => {
      const buf = Buffer.from(b64, 'base64');
      buf[0] ^= 1;
      return buf.toString('base64');
    };
    expect(() => vault.open({ ...sealed, ciphertext: flip(sealed.ciphertext) })).toThrow(KeyVaultError);
    expect(() => vault.open({ ...sealed, authTag: flip(sealed.authTag) })).toThrow(KeyVaultError);
    expect(() => vault.open({ ...sealed, iv: flip(sealed.iv) })).toThrow(KeyVaultError);
  });

  it('binds a secret to its owner through associated data', () => {
    const vault = new KeyVault(KEY_A);
    const sealed = vault.seal('sk-test-1234', 'user-1:openai');
    expect(() => vault.open(sealed, 'user-2:openai')).toThrow(KeyVaultError);
  });

  it('rotates: the new key opens old secrets via the previous key and re-seals them', () => {
    const old = new KeyVault(KEY_A);
    const sealed = old.seal('sk-rotate', 'ctx');
    const rotated = new KeyVault(KEY_B, KEY_A);
    expect(rotated.needsRotation(sealed)).toBe(true);
    expect(rotated.open(sealed, 'ctx')).toBe('sk-rotate');
    const resealed = rotated.reseal(sealed, 'ctx');
    expect(resealed.keyVersion).toBe(rotated.currentVersion);
    expect(rotated.needsRotation(resealed)).toBe(false);
    expect(new KeyVault(KEY_B).open(resealed, 'ctx')).toBe('sk-rotate');
    expect(() => new KeyVault(KEY_B).open(sealed, 'ctx')).toThrow(/ENCRYPTION_KEY_PREVIOUS/);
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => new KeyVault('abcd')).toThrow(KeyVaultError);
  });
});
