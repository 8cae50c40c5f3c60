/** The first PEM block of a text (cosign annotations and Rekor bodies may hold several; only the first counts). */
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/;

export function firstPemBlock(text: string): { label: string; der: Buffer } | undefined {
  const match = PEM_BLOCK.exec(text);
  if (!match) return undefined;
  return { label: match[1]!, der: Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64') };
}
