/**
 * Network notation the policy and the OCI room's network guard share, parsed without I/O. Its own folder so
 * that the OCI room does not load the policy loader (ajv, yaml) to parse a CIDR.
 */
export { parseCidr } from './cidr.ts';
export type { Cidr } from './cidr.ts';
