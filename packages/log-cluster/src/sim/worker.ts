import { parentPort, workerData } from 'node:worker_threads';
import { simulate, type SimOptions } from './simulator.ts';

const options = (workerData as { sim: Partial<SimOptions> }).sim;
parentPort?.on('message', (seed: number) => {
  void simulate(seed, options).then((result) => parentPort?.postMessage(result));
});
