/**
 * Minimal POSIX ustar archives of Blobs, for package export/import.
 *
 * Why tar and not zip (fflate): a converted SoteDiffusion package is 3.5–22 GiB. Zip needs ZIP64 past 4 GiB
 * (fflate writes no ZIP64) and a CRC-32 of every entry, i.e. reading all bytes once more. A ustar entry is a
 * 512-byte header, the data, and zero padding to 512: the archive is `new Blob([header, storedBlob, pad, …])`
 * — no byte of weights is copied or held in memory, and entry sizes up to 8 GiB fit the 11-digit octal field
 * (package files are ≤ 64 MiB chunks). Integrity is the package manifest's sha256 per file. `tar -xf` (Linux,
 * macOS, Windows 10+) unpacks it into a folder any static server can host as a package.
 *
 * Reading: headers are parsed from small slices of the File; each entry's data is a `File.slice` — again no copy.
 */
const BLOCK = 512;
const MAX_ENTRY = 8 ** 11 - 1;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** One ustar header block for a regular file. */
export function tarHeader(path: string, size: number, mtimeSeconds = 0): Uint8Array<ArrayBuffer> {
  if (size > MAX_ENTRY) throw new RangeError(`${path}: ${size} bytes is more than a ustar entry holds`);
  const enc = new TextEncoder();
  let name = path;
  let prefix = '';
  if (enc.encode(name).length > 100) {
    const cut = path.lastIndexOf('/', path.length - 1);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
    if (cut < 0 || enc.encode(name).length > 100 || enc.encode(prefix).length > 155) throw new RangeError(`${path}: name too long for ustar`);
  }
  const h = new Uint8Array(BLOCK);
  const put = (text: string, at: number) => h.set(enc.encode(text), at);
  put(name, 0);
  put(octal(0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(mtimeSeconds, 12), 136);
  put('        ', 148); // checksum field counts as spaces while summing
  put('0', 156);
  put('ustar\0', 257);
  put('00', 263);
  put(prefix, 345);
  const sum = h.reduce((a, b) => a + b, 0);
  put(octal(sum, 7) + ' ', 148);
  return h;
}

/** Builds the archive as a Blob of Blob parts (entries in the given order). */
export function tarBlob(entries: { path: string; data: Blob }[]): Blob {
  const parts: BlobPart[] = [];
  for (const e of entries) {
    parts.push(tarHeader(e.path, e.data.size), e.data);
    const pad = (BLOCK - (e.data.size % BLOCK)) % BLOCK;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  return new Blob(parts, { type: 'application/x-tar' });
}

/** Lists a ustar archive's regular files as slices of it. */
export async function readTar(archive: Blob): Promise<Map<string, Blob>> {
  const out = new Map<string, Blob>();
  const dec = new TextDecoder();
  const str = (b: Uint8Array, at: number, len: number) => dec.decode(b.subarray(at, at + len)).replace(/\0.*$/s, '');
  for (let at = 0; at + BLOCK <= archive.size;) {
    const h = new Uint8Array(await archive.slice(at, at + BLOCK).arrayBuffer());
    if (h.every((b) => b === 0)) break;
    const stored = parseInt(str(h, 148, 8).trim(), 8);
    const check = h.reduce((a, b, i) => a + (i >= 148 && i < 156 ? 32 : b), 0);
    if (stored !== check) throw new Error(`not a tar archive (bad header checksum at byte ${at})`);
    const size = parseInt(str(h, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    const prefix = str(h, 345, 155);
    const name = (prefix ? `${prefix}/` : '') + str(h, 0, 100);
    const start = at + BLOCK;
    if (start + size > archive.size) throw new Error(`tar entry ${name} runs past the end of the archive`);
    if (type === '0') out.set(name, archive.slice(start, start + size));
    at = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}
