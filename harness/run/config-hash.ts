// The config hash: sha256 of the canonical JSON (RFC 8785, JSON Canonicalization Scheme) of a resolved config.
// Key order and number spelling do not change it, so a plan frozen today and a record written on another machine
// name the same configuration by the same hash. Record provenance and the frozen plan (plan-file.ts) use it.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** Canonical JSON (RFC 8785): sorted keys, no whitespace, ECMAScript number form. `undefined` fields are dropped. */
export function canonicalJson(value: unknown): string {
  return canonicalize(value) ?? 'null';
}

/** "sha256:<hex>" of canonicalJson(value). */
export function configHash(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex')}`;
}
