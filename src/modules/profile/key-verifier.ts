import { Injectable } from '@nestjs/common';
import type { KeyProvider } from './profile.dto';

export interface KeyVerification {
  verified: boolean;
  /** Why not, when not verified. */
  reason?: string;
}

/**
 * Port: checks a provider key with a real call to that provider. The models module
 * provides the implementation; until then nothing is claimed verified.
 */
export abstract class ProviderKeyVerifier {
  abstract verify(provider: KeyProvider, key: string): Promise<KeyVerification>;
}

@Injectable()
export class UnavailableKeyVerifier extends ProviderKeyVerifier {
  async verify(): Promise<KeyVerification> {
    return { verified: false, reason: 'Key verification is not available on this server yet' };
  }
}
