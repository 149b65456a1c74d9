// What you see is what you sign (docs/signing.md). The page downloads the PDF revision it shows and renders its
// pages from those very bytes (pdf.js, vendored). Before the device key signs anything, checkPrepared holds the
// server's prepared signature to that revision: the signed revision must be the downloaded bytes followed by the
// update the server sent, its /ByteRange must cover everything but the signature's placeholder, and the SHA-256
// of those byte ranges must be the messageDigest inside the signed attributes the key is about to sign. Any
// mismatch refuses to sign; a newer revision of the document is shown to the party, who signs again by their own
// gesture.

import { unb64 } from './devicekey.js';

export class DigestMismatch extends Error {
  constructor(reason) {
    super(reason);
    this.code = reason; // stale, range, placeholder, digest, attrs
  }
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

export const hex = (u8) => [...u8].map((b) => b.toString(16).padStart(2, '0')).join('');

// fetchRevision downloads one version of a document: {version, bytes, sha256 (hex)}.
export async function fetchRevision(docId, version) {
  const r = await fetch(`/api/v1/documents/${encodeURIComponent(docId)}/pdf?version=${version}`, { credentials: 'same-origin' });
  if (!r.ok) {
    const e = new Error(`pdf ${r.status}`);
    e.status = r.status;
    throw e;
  }
  const bytes = new Uint8Array(await r.arrayBuffer());
  return { version, bytes, sha256: hex(await sha256(bytes)) };
}

// DER: read one TLV at off; returns {tag, start (of the value), end}.
function tlv(b, off) {
  if (off + 2 > b.length) throw new DigestMismatch('attrs');
  const tag = b[off];
  let len = b[off + 1];
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4 || p + n > b.length) throw new DigestMismatch('attrs');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i];
    p += n;
  }
  if (p + len > b.length) throw new DigestMismatch('attrs');
  return { tag, start: p, end: p + len };
}

// The DER of OID 1.2.840.113549.1.9.4 (id-messageDigest).
const MESSAGE_DIGEST = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];

// messageDigest returns the value of the messageDigest attribute in DER signed attributes (a SET OF Attribute).
export function messageDigest(attrs) {
  const set = tlv(attrs, 0);
  if (set.tag !== 0x31 || set.end !== attrs.length) throw new DigestMismatch('attrs');
  let found = null;
  for (let p = set.start; p < set.end; ) {
    const attr = tlv(attrs, p);
    if (attr.tag !== 0x30) throw new DigestMismatch('attrs');
    const oid = attrs.subarray(attr.start, attr.start + MESSAGE_DIGEST.length);
    if (MESSAGE_DIGEST.every((x, i) => oid[i] === x)) {
      if (found) throw new DigestMismatch('attrs'); // exactly one messageDigest
      const values = tlv(attrs, attr.start + MESSAGE_DIGEST.length);
      const v = tlv(attrs, values.start);
      if (values.tag !== 0x31 || v.tag !== 0x04 || v.end !== values.end) throw new DigestMismatch('attrs');
      found = attrs.slice(v.start, v.end);
    }
    p = attr.end;
  }
  if (!found) throw new DigestMismatch('attrs');
  return found;
}

const ascii = (u8) => String.fromCharCode.apply(null, u8);

// checkPrepared checks a prepare answer against the revision the page shows, before the key signs it. It throws
// DigestMismatch when it does not hold; 'stale' means the document has a newer version than the one shown.
export async function checkPrepared(shown, prepared) {
  const rev = prepared.revision;
  if (!rev) throw new DigestMismatch('range');
  if (prepared.base_version !== shown.version || rev.base_sha256 !== shown.sha256 || rev.base_size !== shown.bytes.length) throw new DigestMismatch('stale');
  const update = unb64(rev.update);
  const full = new Uint8Array(shown.bytes.length + update.length);
  full.set(shown.bytes, 0);
  full.set(update, shown.bytes.length);
  const [a0, a1, b0, b1] = rev.byte_range;
  // The ranges start at the first byte, cover every downloaded byte, leave out only the placeholder and end at
  // the end of the revision.
  if (a0 !== 0 || a1 < shown.bytes.length || b0 <= a1 || b0 + b1 !== full.length) throw new DigestMismatch('range');
  const gap = full.subarray(a1, b0);
  if (gap.length !== 2 * rev.contents_size + 2 || gap[0] !== 0x3c || gap[gap.length - 1] !== 0x3e || gap.subarray(1, gap.length - 1).some((x) => x !== 0x30)) throw new DigestMismatch('placeholder');
  // The revision's own /ByteRange says the same.
  const head = ascii(full.subarray(shown.bytes.length, a1));
  const m = /\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/.exec(head);
  if (!m || [a0, a1, b0, b1].some((v, i) => Number(m[i + 1]) !== v)) throw new DigestMismatch('range');
  const covered = new Uint8Array(a1 + b1);
  covered.set(full.subarray(0, a1), 0);
  covered.set(full.subarray(b0, b0 + b1), a1);
  const want = await sha256(covered);
  const got = messageDigest(unb64(prepared.to_be_signed));
  if (got.length !== want.length || got.some((x, i) => x !== want[i])) throw new DigestMismatch('digest');
  return { digest: hex(want) };
}
