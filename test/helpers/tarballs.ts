/**
 * Crafted gzip tarballs for the extraction tests, built with tar-stream so any header (absolute names, `..`,
 * links, devices) can be written. Large ones (bombs, 100,000 entries) are generated as streams, lazily: the
 * extractor's refusal stops the generator, so nothing big is ever stored or held.
 */
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';

export interface CraftedEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: string;
  linkname?: string;
  mode?: number;
}

/** A complete tar.gz of `entries`, in memory. */
export async function tarGz(entries: readonly CraftedEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const entry of entries) {
    const content = entry.content ?? '';
    const isFile = entry.type === 'file' || entry.type === undefined;
    const header = {
      name: entry.name,
      mtime: new Date(0),
      type: entry.type ?? 'file',
      ...(entry.linkname !== undefined ? { linkname: entry.linkname } : {}),
      ...(entry.mode !== undefined ? { mode: entry.mode } : {}),
      ...(isFile ? { size: Buffer.byteLength(content) } : {}),
    };
    if (isFile) pack.entry(header, content);
    else pack.entry(header);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(pack as AsyncIterable<Buffer>).pipe(createGzip()))
    chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface GeneratedStream {
  stream: Readable;
  /** Uncompressed tar bytes produced so far (how far the generator got before it was stopped). */
  produced(): number;
}

/** A tar.gz stream with one file of `size` zero bytes (a zip bomb when large), produced on demand. */
export function zeroFileBomb(size: number): GeneratedStream {
  let produced = 0;
  const chunk = Buffer.alloc(1024 * 1024);
  const header = tarHeader('bomb.yaml', size);
  function* blocks(): Generator<Buffer> {
    yield header;
    produced += header.byteLength;
    for (let left = size; left > 0; left -= chunk.byteLength) {
      const piece = left >= chunk.byteLength ? chunk : chunk.subarray(0, left);
      produced += piece.byteLength;
      yield piece;
    }
    const padding = (512 - (size % 512)) % 512;
    yield Buffer.alloc(padding + 1024);
  }
  return { stream: Readable.from(blocks()).pipe(createGzip({ level: 1 })), produced: () => produced };
}

/** A tar.gz stream of `count` empty files, produced on demand. */
export function manyFiles(count: number): GeneratedStream {
  let produced = 0;
  function* blocks(): Generator<Buffer> {
    for (let index = 0; index < count; index++) {
      produced += 512;
      yield tarHeader(`f/${index}.yaml`, 0);
    }
    yield Buffer.alloc(1024);
  }
  return { stream: Readable.from(blocks()).pipe(createGzip({ level: 1 })), produced: () => produced };
}

/** One ustar header block for a regular file (what tar-stream would write), built by hand for generators. */
export function tarHeader(name: string, size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write('0000644\0', 100);
  block.write('0000000\0', 108);
  block.write('0000000\0', 116);
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  block.write('00000000000\0', 136);
  block.write('        ', 148);
  block.write('0', 156);
  block.write('ustar\x0000', 257, 'binary');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}
