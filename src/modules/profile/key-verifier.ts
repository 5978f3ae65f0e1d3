import type { KeyProvider } from './profile.dto';

export interface KeyVerification {
  verified: boolean;
  /** Why not, when not verified. */
  reason?: string;
}

/**
 * Port: checks a provider key with a real call to that provider (implemented by the
 * models module's ModelsKeyVerifier). Never claims `verified` without that call.
 */
export abstract class ProviderKeyVerifier {
  abstract verify(provider: KeyProvider, key: string): Promise<KeyVerification>;
}
