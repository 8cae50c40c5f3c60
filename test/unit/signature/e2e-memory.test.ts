// End-to-end signature scenarios against the in-memory Repository (the same suite runs against a real
// registry in test/integration/signature/).
import { MemoryRepository } from '../../../src/oci/memory.ts';
import { signatureE2e } from './e2e-suite.ts';

signatureE2e('memory', () => new MemoryRepository('registry.test/acme/app'));
