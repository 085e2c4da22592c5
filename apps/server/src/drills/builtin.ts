// The built-in drills, as data. Each is validated against the schema when this module loads.

import { drillSchema, type DrillDefinition } from './model.ts';

const drills: DrillDefinition[] = [
  {
    name: 'leader-failover',
    title: 'Leader failover',
    summary: 'Crash the leader of a busy partition; a new leader is elected and commits. Measures failover time.',
    faultStep: 0,
    detect: { from: 0, to: 0, label: 'leader loss noticed' },
    recover: { from: 0, to: 1, label: 'failover time' },
    steps: [
      {
        title: 'Crash the leader',
        narrative: 'Power-cut the node that leads the busiest partition. Its unsynced writes are gone; its followers stop hearing heartbeats.',
        action: { kind: 'crash', nodes: ['leader'] },
        observation: { chart: 'partitions', expect: 'The leader cell of the partition goes offline, then leadership moves to another replica within about a second.' },
        check: { hypothesis: 'Another replica becomes leader of the partition.', spec: { kind: 'leaderMoved' }, deadlineMs: 10_000 },
      },
      {
        title: 'Watch the new leader commit',
        narrative: 'A leader that cannot commit is not serving. Wait for the high watermark to advance under the new leader.',
        action: { kind: 'none', label: 'Watch commits' },
        observation: { chart: 'latency', expect: 'A short spike in client p99 (the election), then back to the baseline.' },
        check: { hypothesis: 'The new leader commits past the high watermark at the crash.', spec: { kind: 'commitsResume', scope: 'partition' }, deadlineMs: 10_000 },
      },
      {
        title: 'Restart the old leader',
        narrative: 'Bring the crashed node back. It recovers from its disk and rejoins as a follower.',
        action: { kind: 'restart', nodes: ['victim'] },
        observation: { chart: 'replication', expect: 'The restarted node lags briefly, then its lag returns to zero.' },
        check: { hypothesis: 'The restarted node catches up on every partition it replicates.', spec: { kind: 'caughtUp' }, deadlineMs: 20_000 },
      },
    ],
  },
  {
    name: 'follower-catch-up',
    title: 'Follower crash and catch-up',
    summary: 'Crash a follower, watch its lag grow, restart it, watch the lag return to zero. Measures catch-up time.',
    faultStep: 0,
    detect: { from: 0, to: 0, label: 'lag noticed' },
    recover: { from: 1, to: 1, label: 'catch-up time' },
    steps: [
      {
        title: 'Crash a follower',
        narrative: 'Power-cut one follower of the busiest partition. The remaining two replicas are still a majority, so writes keep committing.',
        action: { kind: 'crash', nodes: ['follower'] },
        observation: { chart: 'replication', expect: 'The crashed follower\'s lag climbs steadily; client latency barely moves.' },
        check: { hypothesis: 'The leader reports the crashed follower falling behind.', spec: { kind: 'lagGrows', minRecords: 5 }, deadlineMs: 15_000 },
      },
      {
        title: 'Restart the follower',
        narrative: 'Bring the follower back. It recovers from its disk and the leader sends it what it missed.',
        action: { kind: 'restart', nodes: ['victim'] },
        observation: { chart: 'replication', expect: 'The lag drops back to zero.' },
        check: { hypothesis: 'The follower\'s lag returns to zero on every partition it replicates.', spec: { kind: 'caughtUp' }, deadlineMs: 20_000 },
      },
    ],
  },
  {
    name: 'minority-isolation',
    title: 'Minority isolation',
    summary: 'Isolate one node (the busy partition\'s leader); the majority keeps serving; the isolated leader steps down and acknowledges nothing; heal.',
    faultStep: 0,
    detect: { from: 0, to: 0, label: 'majority re-elected' },
    recover: { from: 0, to: 1, label: 'majority serving again' },
    steps: [
      {
        title: 'Isolate the leader',
        narrative: 'Cut every link to and from the leader of the busiest partition. It still runs, and for a moment still believes it leads.',
        action: { kind: 'isolate', node: 'leader' },
        observation: { chart: 'partitions', expect: 'The partitions it led move to the other two nodes.' },
        check: { hypothesis: 'The majority elects another leader for the partition.', spec: { kind: 'leaderMoved' }, deadlineMs: 10_000 },
      },
      {
        title: 'Check the majority keeps serving',
        narrative: 'Two of three replicas are a quorum: every partition must keep committing.',
        action: { kind: 'none', label: 'Watch commits' },
        observation: { chart: 'latency', expect: 'After the election spike, client p99 returns to the baseline.' },
        check: { hypothesis: 'Every partition commits past its high watermark at the isolation.', spec: { kind: 'commitsResume', scope: 'all' }, deadlineMs: 15_000 },
      },
      {
        title: 'Check the isolated node stepped down',
        narrative: 'Without a quorum the isolated node must stop leading and must acknowledge nothing.',
        action: { kind: 'none', label: 'Inspect the isolated node' },
        observation: { chart: 'partitions', expect: 'No partition shows the isolated node as leader.' },
        check: { hypothesis: 'The isolated node leads nothing and committed nothing since the isolation.', spec: { kind: 'steppedDown' }, deadlineMs: 15_000 },
      },
      {
        title: 'Heal the network',
        narrative: 'Restore the links. The node rejoins as a follower and catches up.',
        action: { kind: 'heal' },
        observation: { chart: 'replication', expect: 'The rejoined node\'s lag returns to zero.' },
        check: { hypothesis: 'The rejoined node catches up on every partition it replicates.', spec: { kind: 'caughtUp' }, deadlineMs: 20_000 },
      },
    ],
  },
  {
    name: 'slow-disk',
    title: 'Slow disk',
    summary: 'Slow the leader\'s fsync; the quorum of two fast followers keeps the tail flat; find the slow node from per-node fsync histograms; drain it before a second fault puts the slow disk in every quorum; undrain it and watch its leaderships come back by themselves.',
    faultStep: 0,
    detect: { from: 0, to: 1, label: 'slow node identified' },
    recover: { from: 2, to: 3, label: 'tail recovered after transfer' },
    steps: [
      {
        title: 'Slow the leader\'s disk',
        narrative:
          'Add 50 ms to every fdatasync of the node leading the busiest partition, as a failing or saturated disk would. The leader sends appends before its own fsync and counts itself only once it is durable, so the two followers still form a quorum without it: clients should not notice — yet.',
        action: { kind: 'slowFsync', node: 'leader', delayMs: 50 },
        observation: { chart: 'latency', expect: 'Client p99 stays near the baseline; only the slowed node\'s fsync latency jumps.' },
        check: { hypothesis: 'Client p99 stays near its steady state: the quorum masks one slow disk.', spec: { kind: 'tailRecovers', factor: 3, slackMs: 15 }, deadlineMs: 15_000 },
      },
      {
        title: 'Find the slow node',
        narrative: 'Compare fsync latency per node: one node\'s histogram sits far to the right of the others.',
        action: { kind: 'none', label: 'Compare fsync per node' },
        observation: { chart: 'latency', expect: 'Filtered to metric fsync, one node\'s p99 is tens of milliseconds; the others are near a millisecond.' },
        check: { hypothesis: 'The node with the highest fsync p99 is the slowed one.', spec: { kind: 'slowNodeIdentified' }, deadlineMs: 10_000 },
      },
      {
        title: 'Drain the slow node',
        narrative: 'Drain the slow node: every partition it leads moves its leadership to a healthy replica, by a transfer rather than an election, and the node is handed none back while drained: its replicas let the others win elections first, and an election that still picks it is undone at once. One more fault (a follower down) would otherwise make its disk part of every quorum of those partitions. It stays a follower and keeps its copies.',
        action: { kind: 'drain', node: 'identified' },
        observation: { chart: 'partitions', expect: 'The slow node holds no leader cell.' },
        check: { hypothesis: 'The slow node leads no partition.', spec: { kind: 'noLeadershipOn', node: 'identified' }, deadlineMs: 10_000 },
      },
      {
        title: 'Watch the tail recover',
        narrative: 'With leaders on fast disks, a majority acknowledges without the slow node whichever follower fails next.',
        action: { kind: 'none', label: 'Watch the tail' },
        observation: { chart: 'latency', expect: 'Client p99 falls back near the baseline.' },
        check: { hypothesis: 'Client p99 returns near the baseline.', spec: { kind: 'tailRecovers', factor: 3, slackMs: 15 }, deadlineMs: 20_000 },
      },
      {
        title: 'Restore the disk and undrain',
        narrative: 'Remove the fsync delay (the disk was replaced) and undrain the node: it may lead again.',
        action: { kind: 'heal' },
        observation: { chart: 'overview', expect: 'Every node healthy.' },
        check: { hypothesis: 'All nodes up, every partition led, no active fault.', spec: { kind: 'allHealthy' }, deadlineMs: 10_000 },
      },
      {
        title: 'Watch leadership return by itself',
        narrative: 'Nobody moves leadership back: the console hands the undrained node its preferred leaderships (each partition\'s preferred replica, rotated over its replicas so leaders spread evenly), a transfer at a time, and records it in the audit trail as the cluster\'s own action.',
        action: { kind: 'none', label: 'Watch the partition map' },
        observation: { chart: 'partitions', expect: 'The node leads its share of partitions again.' },
        check: { hypothesis: 'Every partition is led by its preferred replica again.', spec: { kind: 'leadersBalanced' }, deadlineMs: 30_000 },
      },
    ],
  },
  {
    name: 'quorum-loss',
    title: 'Quorum loss',
    summary: 'Crash two of three replicas; appends fail with clear errors and nothing is acknowledged; restart; service returns.',
    faultStep: 0,
    detect: { from: 0, to: 0, label: 'appends refused' },
    recover: { from: 1, to: 1, label: 'service restored' },
    steps: [
      {
        title: 'Crash two replicas',
        narrative: 'Power-cut the leader and one follower of the busiest partition. One replica of three is no quorum: nothing may be acknowledged.',
        action: { kind: 'crash', nodes: ['leader', 'follower'] },
        observation: { chart: 'overview', expect: 'Append errors climb; the acknowledged rate drops to zero.' },
        check: { hypothesis: 'Appends fail with a clear error and none is acknowledged.', spec: { kind: 'appendsRefused' }, deadlineMs: 15_000 },
      },
      {
        title: 'Restart both replicas',
        narrative: 'Bring both nodes back. They recover from disk, elect leaders and resume.',
        action: { kind: 'restart', nodes: ['victim', 'second'] },
        observation: { chart: 'overview', expect: 'Every partition regains a leader; appends are acknowledged again.' },
        check: { hypothesis: 'Every partition has a leader and a probe append is acknowledged.', spec: { kind: 'serviceReturns' }, deadlineMs: 20_000 },
      },
    ],
  },
  {
    name: 'corrupted-segment',
    title: 'Corrupted segment',
    summary: 'Flip a byte in a follower\'s segment and restart it; the CRC check finds it on recovery; the replica gets the lost record back from a peer or its leader.',
    faultStep: 0,
    detect: { from: 0, to: 0, label: 'corruption detected' },
    recover: { from: 0, to: 1, label: 'replica repaired' },
    steps: [
      {
        title: 'Corrupt a follower\'s segment',
        narrative: 'Crash a follower of the busiest partition, flip one byte inside a record of its newest segment, and restart it. Recovery verifies CRC32C on every batch.',
        action: { kind: 'corruptSegment', node: 'follower' },
        observation: { chart: 'overview', expect: 'logscope_recovery_corruptions_total goes up by one on that node.' },
        check: { hypothesis: 'Recovery reports a CRC mismatch and ends the bad record\'s partition there (its later records kept aside, intact).', spec: { kind: 'corruptionDetected' }, deadlineMs: 10_000 },
      },
      {
        title: 'Watch the replica repair',
        narrative: 'A peer that holds the lost record intact sends it, and the replica takes it and what it kept aside; otherwise the leader resends everything past the truncation point.',
        action: { kind: 'none', label: 'Watch the repair' },
        observation: { chart: 'replication', expect: 'The repaired node\'s lag spikes then returns to zero.' },
        check: { hypothesis: 'The repaired node catches up on every partition it replicates.', spec: { kind: 'caughtUp' }, deadlineMs: 20_000 },
      },
    ],
  },
  {
    name: 'bit-rot',
    title: 'Bit rot under a running node',
    summary: 'Flip a byte in a running follower\'s segment, where no read will look; a scrub pass finds it, the node stops rather than serve it, restarts by itself, and gets the lost record back from a peer.',
    faultStep: 0,
    detect: { from: 0, to: 0, label: 'rot found, node restarted' },
    recover: { from: 0, to: 1, label: 'replica repaired' },
    steps: [
      {
        title: 'Rot a byte under a running follower',
        narrative: 'Flip one byte inside a record of the newest segment of a follower of the busiest partition, while it runs. Its reads come from memory, so only the scrub will read that record; start a pass now instead of waiting for the next one (logscope cluster scrub N does the same).',
        action: { kind: 'rotSegment', node: 'follower' },
        observation: { chart: 'overview', expect: 'The node goes down with a disk error "found by the scrub", comes back a second later on its own, and logscope_recovery_corruptions_total goes up by one on it.' },
        check: { hypothesis: 'The scrub finds the rotted record; the node stops instead of serving it and restarts by itself, and its recovery ends the bad record\'s partition before it, keeping that partition\'s later records aside and every other partition\'s records in place.', spec: { kind: 'restartedByItself' }, deadlineMs: 90_000 },
      },
      {
        title: 'Watch the replica repair',
        narrative: 'The replica asks its peers for the record it lost; one that holds it intact sends it, and the replica takes it and what it kept aside (checked against the lost record\'s CRC). Had it kept nothing aside, its leader would send everything past the cut again. The Overview warns while it waits.',
        action: { kind: 'none', label: 'Watch the repair' },
        observation: { chart: 'replication', expect: 'The repaired node\'s lag spikes then returns to zero.' },
        check: { hypothesis: 'The repaired node catches up on every partition it replicates.', spec: { kind: 'caughtUp' }, deadlineMs: 20_000 },
      },
    ],
  },
  {
    name: 'corrupted-tail',
    title: 'Corrupted tail',
    summary: 'Cut the fdatasync\'ed tail of a follower\'s newest segment; record identifiers show those records were acknowledged, so the replica keeps them as faulty instead of forgetting them, and a leader repairs it.',
    faultStep: 0,
    detect: { from: 0, to: 0, label: 'faulty tail detected' },
    recover: { from: 0, to: 1, label: 'replica repaired' },
    steps: [
      {
        title: 'Cut a follower\'s durable tail',
        narrative: 'Crash a follower of the busiest partition, cut the last records of its newest segment — bytes that were fdatasync\'ed and acknowledged — and restart it. Without record identifiers this looks exactly like a torn write, and the replica would vote as if it never had those entries.',
        action: { kind: 'cutSegmentTail', node: 'follower' },
        observation: { chart: 'overview', expect: 'logscope_recovery_corruptions_total goes up by one on that node; it leads nothing until repaired.' },
        check: { hypothesis: 'Recovery keeps the acknowledged entries it lost as a faulty tail (identifiers name them) instead of cutting them.', spec: { kind: 'faultyTailKept' }, deadlineMs: 10_000 },
      },
      {
        title: 'Watch the replica repair',
        narrative: 'The leader re-sends the faulty entries; until then the replica grants votes only to candidates holding at least its faulty tail, and does not campaign.',
        action: { kind: 'none', label: 'Watch the repair' },
        observation: { chart: 'replication', expect: 'The repaired node\'s lag spikes then returns to zero.' },
        check: { hypothesis: 'The repaired node catches up on every partition it replicates.', spec: { kind: 'caughtUp' }, deadlineMs: 20_000 },
      },
    ],
  },
  {
    name: 'disk-full',
    title: 'Disk full',
    summary: 'Crash one follower, then fill the other one\'s disk: appends fail at once with DiskFull naming the node; give the space back and the node resumes by itself.',
    faultStep: 1,
    detect: { from: 1, to: 1, label: 'disk full reported' },
    recover: { from: 2, to: 2, label: 'writes resume' },
    steps: [
      {
        title: 'Crash a follower',
        narrative: 'Power-cut one follower of the busiest partition. The leader and the other follower still form a majority.',
        action: { kind: 'crash', nodes: ['follower'] },
        observation: { chart: 'replication', expect: 'The crashed follower\'s lag climbs; writes keep committing.' },
        check: { hypothesis: 'The leader and the remaining follower keep committing.', spec: { kind: 'commitsResume', scope: 'partition' }, deadlineMs: 10_000 },
      },
      {
        title: 'Fill the other follower\'s disk',
        narrative: 'The remaining follower\'s disk fills up. It does not stop: it keeps answering heartbeats, holds its unwritten batch whole, says so at once (log line, logscope_disk_full, an Overview alert with its free bytes) and tells the leader, which now lacks a quorum that can persist.',
        action: { kind: 'diskFull', node: 'follower', full: true },
        observation: { chart: 'overview', expect: 'A "disk full" alert naming the node and its free bytes; appends fail at once with DiskFull instead of timing out.' },
        check: { hypothesis: 'The node reports its disk full and appends fail with DiskFull naming it.', spec: { kind: 'diskFullReported' }, deadlineMs: 15_000 },
      },
      {
        title: 'Give the space back',
        narrative: 'Free space on the node (here: the fault is lifted). Nobody restarts anything: the node retries its held batch every 200 ms and carries on.',
        action: { kind: 'diskFull', node: 'second', full: false },
        observation: { chart: 'latency', expect: 'Commits resume within a second; the alert clears.' },
        check: { hypothesis: 'Commits resume on every partition without a restart.', spec: { kind: 'commitsResume', scope: 'all' }, deadlineMs: 15_000 },
      },
      {
        title: 'Restart the crashed follower',
        narrative: 'Bring the first follower back; it catches up from the leader.',
        action: { kind: 'restart', nodes: ['victim'] },
        observation: { chart: 'replication', expect: 'Its lag returns to zero.' },
        check: { hypothesis: 'The restarted follower catches up on every partition it replicates.', spec: { kind: 'caughtUp' }, deadlineMs: 20_000 },
      },
    ],
  },
];

export const BUILTIN_DRILLS: readonly DrillDefinition[] = drills.map((d) => drillSchema.parse(d));

export function findDrill(name: string): DrillDefinition | undefined {
  return BUILTIN_DRILLS.find((d) => d.name === name);
}
