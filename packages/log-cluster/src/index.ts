export * from './invariant.ts';
export * from './raft/types.ts';
export * from './storage/types.ts';
