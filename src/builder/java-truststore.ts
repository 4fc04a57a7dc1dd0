/**
 * The Java CA store ca-certificates-java's script would make: /etc/ssl/certs/java/cacerts, a JKS
 * keystore of trusted certificate entries (Debian's format, store password `changeit`), one per
 * certificate under /usr/share/ca-certificates, aliased `debian:<name>.pem` as Debian aliases
 * them. Pure and deterministic: entries in alias order, every entry dated at the epoch.
 * JKS layout (sun.security.provider.JavaKeyStore): magic 0xFEEDFEED, version 2, the entry count,
 * per trusted entry tag 2, alias (modified UTF-8), date (ms), "X.509", the DER; then SHA-1 over
 * the password (UTF-16BE), "Mighty Aphrodite" and everything before.
 */
import { createHash } from 'node:crypto';

export const javaStorePassword = 'changeit';

export interface TrustedCertificate {
  alias: string;
  der: Buffer;
}

export function jksTruststore(certificates: TrustedCertificate[], password = javaStorePassword): Buffer {
  const sorted = [...certificates].sort((a, b) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0));
  const parts: Buffer[] = [u32(0xfeedfeed), u32(2), u32(sorted.length)];
  for (const { alias, der } of sorted) {
    parts.push(u32(2), javaUtf(alias), Buffer.alloc(8), javaUtf('X.509'), u32(der.length), der);
  }
  const body = Buffer.concat(parts);
  const digest = createHash('sha1')
    .update(Buffer.from(password, 'utf16le').swap16())
    .update('Mighty Aphrodite', 'utf8')
    .update(body)
    .digest();
  return Buffer.concat([body, digest]);
}

/** The certificates of a PEM file, as DER. */
export function pemCertificates(pem: string): Buffer[] {
  const out: Buffer[] = [];
  for (const match of pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
    out.push(Buffer.from((match[1] ?? '').replace(/\s+/g, ''), 'base64'));
  }
  return out;
}

function u32(value: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt32BE(value);
  return buf;
}

/** DataOutputStream.writeUTF: a 2-byte length, then modified UTF-8 (plain UTF-8 for these names). */
function javaUtf(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}
