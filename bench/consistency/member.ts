/**
 * The consumer group's members of a consistency check: each reads every partition it is assigned
 * and commits after processing (at least once), heartbeats, and now and then probes the service
 * with a commit it must refuse. A {@link MemberPool} starts them and restarts them during the run,
 * some as zombies: frozen past their session, then waking to commit what they had read.
 */
import { seededRandom } from '../../test/support/events.js';
import { type CheckRun, count, parseProblem, retriable, sleep } from './check-run.js';

const SESSION_TIMEOUT_MS = 3_000;
const HEARTBEAT_INTERVAL_MS = 600;
const MEMBER_IDLE_MS = 50;
const PROBE_PROBABILITY = 0.05;
/** An offset no partition in a check reaches. */
const PROBE_OFFSET_ABOVE = 2 ** 40;
/** How long a zombie stays frozen: past its session, so the group has moved on without it. */
const ZOMBIE_PAUSE_MS = SESSION_TIMEOUT_MS + 1_000;

interface Assignment {
  readonly memberId: string;
  readonly generation: number;
  readonly assignments: readonly { readonly topic: string; readonly partition: number }[];
}

/** One member of the check's consumer group. */
export class Member {
  memberId = '';
  generation = 0;
  owned: number[] = [];
  readonly positions = new Map<number, number>();
  stopped = false;
  private lastHeartbeatMs = 0;
  private readonly random: () => number;
  private readonly name: string;

  constructor(
    private readonly run: CheckRun,
    index: number,
  ) {
    this.name = `member${index}`;
    this.random = seededRandom(run.settings.seed * 104_729 + index);
  }

  async join(): Promise<void> {
    const body = JSON.stringify({ topics: [this.run.topic], sessionTimeoutMs: SESSION_TIMEOUT_MS });
    await this.adopt(
      await this.run.expectOk<Assignment>('POST', `/v1/groups/${this.run.group}/members`, body),
    );
  }

  /** Takes a generation's assignment; new partitions start at the committed offset. */
  private async adopt(assignment: Assignment): Promise<void> {
    this.memberId = assignment.memberId;
    this.generation = assignment.generation;
    this.owned = assignment.assignments.filter((tp) => tp.topic === this.run.topic).map((tp) => tp.partition);
    this.lastHeartbeatMs = this.run.now();
    for (const partition of [...this.positions.keys()]) {
      if (!this.owned.includes(partition)) this.positions.delete(partition);
    }
    const fresh = this.owned.filter((partition) => !this.positions.has(partition));
    if (fresh.length === 0) return;
    const committed = await this.run.committedOffsets();
    for (const partition of fresh) this.positions.set(partition, committed.get(partition) ?? 0);
  }

  private async heartbeat(): Promise<void> {
    const answer = await this.run.callWithRetries(
      'POST',
      `/v1/groups/${this.run.group}/members/${this.memberId}/heartbeat`,
      JSON.stringify({ generation: this.generation }),
    );
    if (answer?.status === 200) {
      await this.adopt(JSON.parse(answer.text) as Assignment);
    } else if (answer?.status === 409 && parseProblem(answer).reason === 'unknown-member') {
      this.positions.clear();
      await this.join();
    } else if (answer !== undefined && !retriable(answer)) {
      count(this.run.tallies.unexpected, `heartbeat ${answer.status} ${answer.text.slice(0, 80)}`);
    }
  }

  /** Commits `offset`; on refusal it re-syncs with the group. Returns whether it was accepted. */
  private async commit(partition: number, offset: number, probe?: string): Promise<boolean> {
    const { run } = this;
    const startedAtMs = run.now();
    const answer = await run.callWithRetries(
      'POST',
      `/v1/groups/${run.group}/offsets`,
      JSON.stringify({
        memberId: this.memberId,
        generation: this.generation,
        offsets: [{ topic: run.topic, partition, offset }],
      }),
    );
    if (answer?.status === 200) {
      run.commits.push({
        group: run.group,
        member: this.memberId,
        partition,
        offset,
        startedAtMs,
        completedAtMs: run.now(),
      });
      this.lastHeartbeatMs = run.now();
      return true;
    }
    if (answer === undefined || retriable(answer)) return false;
    const problem = parseProblem(answer);
    const reason = probe ?? problem.reason ?? String(problem.error_code ?? answer.status);
    count(run.tallies.refused, reason);
    if (probe !== undefined) return false;
    if (answer.status === 409 && problem.reason !== undefined) {
      // Refused (a rebalance moved the generation on): as a Kafka consumer after a failed commit,
      // it takes its assignment again from the committed offsets, so the records it read but could
      // not commit are read again rather than left behind its position for good.
      await this.heartbeat();
      if (this.owned.includes(partition)) {
        this.positions.set(partition, (await run.committedOffsets()).get(partition) ?? 0);
      }
    } else if (answer.status === 409 && problem.error_code === 40914) {
      this.positions.set(partition, (await run.committedOffsets()).get(partition) ?? 0);
    } else {
      count(run.tallies.unexpected, `commit ${answer.status} ${answer.text.slice(0, 80)}`);
    }
    return false;
  }

  /**
   * Tries commits a correct service refuses, below the member's last commit or far above any high
   * watermark (the log grows meanwhile, so "just above" may become valid); an accepted one lands
   * in the history.
   */
  private async probe(partition: number, lastCommitted: number): Promise<void> {
    if (this.random() < 0.5 && lastCommitted > 0) {
      await this.commit(
        partition,
        Math.max(0, lastCommitted - 1 - Math.floor(this.random() * 5)),
        'probe-below',
      );
    } else {
      await this.commit(partition, PROBE_OFFSET_ABOVE + Math.floor(this.random() * 5), 'probe-above-hw');
    }
  }

  /** Reads, processes and commits its partitions until stopped. */
  async consume(): Promise<void> {
    while (!this.stopped) {
      if (this.run.now() - this.lastHeartbeatMs >= HEARTBEAT_INTERVAL_MS) await this.heartbeat();
      let idle = true;
      for (const partition of [...this.owned]) {
        if (this.stopped) return;
        const from = this.positions.get(partition);
        if (from === undefined) continue;
        const page = await this.run.readOnce(
          this.name,
          partition,
          from,
          1 + Math.floor(this.random() * 40),
          0,
          this.run.group,
        );
        if (page.records.length === 0) continue;
        idle = false;
        this.positions.set(partition, page.nextOffset);
        if (this.stopped) return; // a crash between processing and committing
        const accepted = await this.commit(partition, page.nextOffset);
        if (accepted && this.random() < PROBE_PROBABILITY) {
          await this.probe(partition, page.nextOffset);
        }
        if (!accepted) break;
      }
      if (idle) await sleep(MEMBER_IDLE_MS);
    }
  }

  /** Stops and leaves the group cleanly. */
  async leave(): Promise<void> {
    this.stopped = true;
    await this.run.callWithRetries('DELETE', `/v1/groups/${this.run.group}/members/${this.memberId}`);
  }

  /** Stops silently: the group notices when the session expires. */
  crash(): void {
    this.stopped = true;
  }

  /**
   * Freezes (a long garbage collection, a suspended VM) for longer than its session, then wakes
   * and commits where it had read to, in the generation it still believes in. The service must
   * refuse it (its session is over); an accepted zombie commit is an unexpected answer.
   */
  async zombie(): Promise<void> {
    this.stopped = true;
    const held = [...this.positions.entries()];
    await sleep(ZOMBIE_PAUSE_MS);
    const [partition, offset] = held[0] ?? [];
    if (partition === undefined || offset === undefined) return;
    if (await this.commit(partition, offset, 'zombie')) {
      count(this.run.tallies.unexpected, `zombie commit accepted ${this.memberId} ${partition}@${offset}`);
    }
  }
}

/** The group's live members and their running loops. */
export class MemberPool {
  private readonly members: Member[] = [];
  private readonly running: Promise<void>[] = [];
  private memberCount = 0;

  constructor(private readonly run: CheckRun) {}

  /** Starts a new member: it joins, then consumes in the background. */
  async launch(): Promise<void> {
    const member = new Member(this.run, this.memberCount++);
    await member.join();
    this.members.push(member);
    this.running.push(member.consume());
  }

  /**
   * Restarts up to `settings.consumerRestarts` members, one at a time, while `producing()` says the
   * producers are still running: the first and every third after it as a zombie (frozen, then
   * committing), the others half by crashing and half by leaving.
   */
  async restartWhile(random: () => number, producing: () => boolean): Promise<void> {
    for (let restart = 0; restart < this.run.settings.consumerRestarts && producing(); restart++) {
      await sleep(300 + random() * 600);
      const victim = this.members.splice(Math.floor(random() * this.members.length), 1)[0];
      if (victim === undefined) continue;
      this.run.consumerRestarts++;
      if (restart % 3 === 0) this.running.push(victim.zombie());
      else if (random() < 0.5) victim.crash();
      else await victim.leave();
      await this.launch();
    }
  }

  /** Every live member leaves cleanly, one after the other. */
  async leaveAll(): Promise<void> {
    for (const member of this.members) await member.leave();
  }

  /** Every live member stops silently. */
  crashAll(): void {
    for (const member of this.members) member.crash();
  }

  /** The loops of every member ever started. */
  loops(): Promise<void>[] {
    return this.running;
  }
}
