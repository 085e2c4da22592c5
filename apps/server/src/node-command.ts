import { parseArgs } from 'node:util';
import { parsePeers, startNodeProcess } from '@logscope/log-cluster';

/** `logscope node --id N --peers 1=h:p,2=h:p,3=h:p [--data-dir D] [--partitions 12] [--metrics-port 9100]` */
export async function run(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      id: { type: 'string' },
      peers: { type: 'string' },
      'data-dir': { type: 'string' },
      partitions: { type: 'string', default: '12' },
      'replication-factor': { type: 'string', default: '3' },
      host: { type: 'string', default: '127.0.0.1' },
      'metrics-port': { type: 'string', default: '0' },
      'metrics-host': { type: 'string', default: '127.0.0.1' },
    },
  });
  const id = Number(values.id);
  if (!Number.isInteger(id) || id < 1) throw new Error('--id must be a positive integer (this node\'s id in --peers)');
  if (values.peers === undefined) throw new Error('--peers is required, e.g. 1=127.0.0.1:9001,2=127.0.0.1:9002,3=127.0.0.1:9003');
  const peers = parsePeers(values.peers);
  const partitionCount = Number(values.partitions);
  const replicationFactor = Number(values['replication-factor']);
  if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new Error('--partitions must be a positive integer');
  const running = await startNodeProcess({
    id,
    peers,
    dataDir: values['data-dir'] ?? `.logscope/node-${id}`,
    partitionCount,
    replicationFactor,
    host: values.host ?? '127.0.0.1',
    metricsPort: Number(values['metrics-port']),
    metricsHost: values['metrics-host'] ?? '127.0.0.1',
  });
  // One machine-readable line so scripts (and the integration test) know the ports.
  console.log(JSON.stringify({ event: 'node-ready', id, port: running.port, metricsUrl: `http://${values['metrics-host']}:${running.metricsPort}` }));
  const stop = (): void => {
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
