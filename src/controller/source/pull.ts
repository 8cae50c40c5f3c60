/**
 * The controller's puller is the pull flow (`flows/pull.ts` `pullArtifact`, the one `pinwarden pull` runs):
 * manifest by digest, layer chosen as Flux chooses it, streamed through its digest check into a safe extraction
 * with caps. Verification already ran in the reconciler's verify step on the same digest (so SourceVerified
 * can say why), which is why it passes `verification: undefined` here.
 */
import { pullArtifact } from '../../flows/index.ts';
import { isDigest } from '../../oci/index.ts';
import { PinwardenError } from '../../core/errors.ts';
import type { ArtifactPuller } from './ocirepository.ts';

export const flowPuller: ArtifactPuller = async (request) => {
  if (!isDigest(request.digest))
    throw new PinwardenError('PW_REF_INVALID', `'${request.digest.slice(0, 80)}' is not a sha256 digest`);
  const pulled = await pullArtifact({
    repository: request.repository,
    subject: request.digest,
    verification: undefined,
    layerSelector: request.layerSelector,
    destination: request.destination,
    call: request.call,
  });
  return { annotations: pulled.annotations, layer: pulled.layer, warnings: pulled.warnings };
};
