// Listening ports for node processes and their peers, picked below the kernel's ephemeral range.
// A port picked by listening on port 0 comes from that range, which is also where every outgoing
// connection gets its local port: a node killed and started again on its port could find it taken
// by some client's or peer's connection meanwhile (EADDRINUSE; an automatic restart then failed,
// and so did a test's kill -9 and restart, once). Below the range no connection takes it.

import { readFileSync } from 'node:fs';
import net from 'node:net';

/** The lowest port picked: clear of well-known and registered services' usual ports. */
const PORT_LOWEST = 10_000;
/** The start of the ephemeral range where the system does not say (Linux's default, and IANA's 49152 is higher). */
const EPHEMERAL_START_DEFAULT = 32_768;

/** The first port the kernel may give an outgoing connection. */
function ephemeralStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > PORT_LOWEST + 1_000) return low;
  } catch {
    // Not Linux (or no procfs): the usual default.
  }
  return EPHEMERAL_START_DEFAULT;
}

/** `count` different ports free on `host` now, below the ephemeral range (each checked by listening on it). */
export async function freeListenPorts(host: string, count: number): Promise<number[]> {
  const high = ephemeralStart();
  const servers: net.Server[] = [];
  try {
    for (let attempts = 0; servers.length < count; attempts++) {
      if (attempts >= 100 * count) throw new Error(`no ${count} free ports in ${PORT_LOWEST}..${high - 1} on ${host}`);
      const port = PORT_LOWEST + Math.floor(Math.random() * (high - PORT_LOWEST));
      if (servers.some((s) => (s.address() as net.AddressInfo).port === port)) continue;
      const server = await listenOn(host, port);
      if (server !== null) servers.push(server);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  }
}

/** A server listening on `port`, or null when the port is taken. */
function listenOn(host: string, port: number): Promise<net.Server | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' || error.code === 'EACCES' ? resolve(null) : reject(error)));
    server.listen(port, host, () => resolve(server));
  });
}
