import { Injectable } from '@nestjs/common';
import { KeyVerification, ProviderKeyVerifier } from '../profile/key-verifier';
import { KeyProvider } from '../profile/profile.dto';
import { upstreamStatus } from './model-errors';
import { ProviderRegistry } from './provider-registry';

const VERIFY_TIMEOUT_MS = 5_000;

/** The accounts issue's verification port, answered by a cheap real call to the provider. */
@Injectable()
export class ModelsKeyVerifier extends ProviderKeyVerifier {
  constructor(private readonly registry: ProviderRegistry) {
    super();
  }

  async verify(key: KeyProvider, apiKey: string): Promise<KeyVerification> {
    const provider = this.registry.forKey(key);
    if (!provider) return { verified: false, reason: `The ${key} provider is not enabled on this server` };
    try {
      return await provider.verifyKey(apiKey, AbortSignal.timeout(VERIFY_TIMEOUT_MS));
    } catch (error) {
      const status = upstreamStatus(error);
      if (status === 401 || status === 403) return { verified: false, reason: `${provider.name} rejected the key` };
      if (status !== undefined) return { verified: false, reason: `${provider.name} answered ${status}; try again later` };
      return { verified: false, reason: `${provider.name} could not be reached to check the key` };
    }
  }
}
