import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { SocketFactory } from './tcp.ts';

/** PEM certificate, key and CA: the same three files for node, client and console (`--tls-cert/--tls-key/--tls-ca`). */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

export function loadTls(files: TlsFiles): TlsMaterial {
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile), ca: readFileSync(files.caFile) };
}

/**
 * Mutual TLS sockets: a listener accepts only peers and clients whose certificate the CA signed,
 * and a connection checks the server's certificate against the CA and the address dialled.
 */
export function tlsSockets(material: TlsMaterial): SocketFactory {
  return {
    createServer: (onConnection) =>
      tls.createServer({ cert: material.cert, key: material.key, ca: material.ca, requestCert: true, rejectUnauthorized: true }, onConnection),
    connect: (port, host) =>
      tls.connect({ port, host, cert: material.cert, key: material.key, ca: material.ca, ...(net.isIP(host) === 0 ? { servername: host } : {}) }),
  };
}
