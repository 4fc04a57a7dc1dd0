/**
 * Break-glass debug sessions (`herd debug`), in this order: the instance is found and the program
 * checked (nothing changed yet if either fails); the session is written to herd.db, which taints
 * the instance for good; the instance is quarantined and held (out of the front door, out of the
 * fleet's plan, so the fleet replaces it surge-first); the journal gets who, why, where and for how
 * long; only then does the program run, through the engine's one exec, with every byte both ways
 * recorded. When the program ends, the client goes away, the TTL passes or the control plane
 * stops, the transcript goes into the store as a referrer of the image, the journal gets its digest
 * and how the session ended, and the instance is destroyed. A control plane that restarts destroys
 * what a session left behind before its fleets start (`recover`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { type Clock, type Logger, systemClock } from '../common/index.js';
import {
  type DebugExec,
  type Engine,
  EngineError,
  EventFeed,
  type Instance,
  type TerminalSize,
} from '../engines/index.js';
import type { Journal } from '../journal/index.js';
import type { LayoutStore } from '../oci/index.js';
import { attachArtifact, type Descriptor, type Digest, MediaType } from '../oci/index.js';
import type { QuarantineOutcome } from '../watch/index.js';
import { DebugSessionStore } from './debug-session-store.js';
import { DebugError } from './errors.js';
import type { SessionEnd } from './session-frames.js';
import {
  defaultTranscriptLimitBytes,
  TranscriptRecorder,
  transcriptArtifactType,
  transcriptMediaType,
} from './transcript.js';

/** The fleet controller as a debug session needs it (FleetController has all three). */
export interface DebugFleets {
  quarantine(
    service: string,
    id: string,
    options: { reason: string; hold?: boolean },
  ): Promise<QuarantineOutcome>;
  templateOf(service: string): unknown;
  status(service: string): Promise<{ instances: readonly { id: string; serving?: boolean }[] }>;
}

export interface DebugSessionsOptions {
  engine: Engine;
  fleets: DebugFleets;
  store: LayoutStore;
  journal: Journal;
  db: Database;
  /** Where transcripts are written as they grow (HERD_HOME/debug), until they are in the store. */
  spoolDir: string;
  clock?: Clock;
  log: Pick<Logger, 'info' | 'warn'>;
  transcriptLimitBytes?: number;
  /** How often to look whether a replacement took over the front door; default 250 ms. */
  takeoverPollMs?: number;
}

export interface DebugRequest {
  /** An instance id, or a prefix that names one. */
  instance: string;
  reason: string;
  ttlSeconds: number;
  /** Exec form, the program an absolute path. */
  command: string[];
  tty: boolean;
  size?: TerminalSize;
  /** The caller as the journal names them (`local:<user>`, `token:<name>:<id>`). */
  actor: string;
}

export type SessionOutput = { kind: 'stdout' | 'stderr' | 'notice'; data: Buffer };

/** A session as the route connects it to the client. */
export interface DebugSession {
  id: string;
  instance: Instance;
  /** Epoch ms. */
  expiresAt: number;
  quarantine: QuarantineOutcome;
  /** Notices for the person, then the program's output; ends when the session does. */
  output: AsyncIterable<SessionOutput>;
  write(data: Buffer): void;
  endInput(): void;
  resize(size: TerminalSize): void;
  /** The client went away: the session ends, the instance is destroyed. */
  disconnect(): void;
  ended: Promise<SessionEnd>;
}

export class DebugSessions {
  private readonly rows: DebugSessionStore;
  private readonly clock: Clock;
  /** Instances with a session not yet destroyed, live or left by a control plane that stopped. */
  private readonly tainted = new Set<string>();
  /**
   * Instances whose session's instance this control plane destroyed. Engine events about one can
   * arrive after it is gone (the session's own exec, read late from the engine's event log): the
   * monitors must still take them for the session's. Ids are never reused, and one per session.
   */
  private readonly destroyed = new Set<string>();
  private readonly live = new Map<string, RunningSession>();

  constructor(private readonly options: DebugSessionsOptions) {
    this.rows = new DebugSessionStore(options.db);
    this.clock = options.clock ?? systemClock;
    for (const row of this.rows.tainted()) this.tainted.add(row.instance);
  }

  /** The instance is, or was, under a debug session: no monitor acts on it. */
  holds(id: string): boolean {
    return this.tainted.has(id) || this.destroyed.has(id);
  }

  /**
   * Destroys the instances sessions left behind when a control plane stopped mid-session, and
   * records their end with what their spooled transcripts hold. Call before the fleets start, so
   * a tainted instance is never adopted back into service.
   */
  async recover(): Promise<void> {
    for (const row of this.rows.tainted()) {
      if (this.live.has(row.id)) continue;
      const at = new Date(this.clock.now()).toISOString();
      try {
        await this.options.engine.remove(row.instance);
      } catch (error) {
        this.options.log.warn(
          { session: row.id, instance: row.instance, err: String(error) },
          'could not destroy the instance of an unfinished debug session; trying again at the next start',
        );
        continue;
      }
      if (!row.endedAt) {
        const spool = this.spoolOf(row.id);
        const text = await readFile(spool, 'utf8').catch(() => undefined);
        const transcript = text
          ? await this.storeTranscript(row.digest as Digest, Buffer.from(text), {
              session: row.id,
              instance: row.instance,
              at,
            })
          : undefined;
        this.journalEnd(
          { id: row.id, service: row.service, digest: row.digest, instance: row.instance },
          {
            ended: 'stopped',
            transcript,
            bytes: text?.length ?? 0,
            note: 'the control plane stopped during the session',
          },
        );
        this.rows.end(row.id, { at, ended: 'stopped', ...(transcript ? { transcript } : {}) });
        if (transcript) await rm(spool, { force: true });
      }
      this.rows.destroyed(row.id, at);
      this.forget(row.instance);
    }
  }

  /** Ends every live session (the control plane is stopping) and waits for each instance to go. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.live.values()].map((session) => session.finish('stopped')));
  }

  /**
   * Refuses (DebugError) before anything changes when the instance or the program is not there or
   * the instance already has a session; otherwise taints, quarantines and journals, and returns
   * the session, whose program starts once no front door sends to the instance.
   */
  async open(request: DebugRequest): Promise<DebugSession> {
    const instance = await this.findInstance(request.instance);
    if (this.tainted.has(instance.id)) {
      throw new DebugError(
        'ALREADY_DEBUGGING',
        `instance ${instance.id} already had a debug session: it is being destroyed`,
      );
    }
    await this.checkProgram(instance, request.command);
    const id = randomBytes(8).toString('hex');
    const startedAt = this.clock.now();
    const expiresAt = startedAt + request.ttlSeconds * 1000;
    // Tainted first: from here on, whatever fails, the instance never serves again.
    this.rows.begin({
      id,
      service: instance.service,
      instance: instance.id,
      digest: instance.digest,
      actor: request.actor,
      reason: request.reason,
      startedAt: new Date(startedAt).toISOString(),
      expiresAt: new Date(expiresAt).toISOString(),
    });
    this.tainted.add(instance.id);
    const quarantine = await this.options.fleets.quarantine(instance.service, instance.id, {
      reason: 'debug',
      hold: true,
    });
    this.options.journal.append({
      actor: request.actor,
      action: 'debug',
      service: instance.service,
      digest: instance.digest,
      details: {
        session: id,
        instance: instance.id,
        revision: instance.revision,
        reason: request.reason,
        ttlSeconds: request.ttlSeconds,
        command: request.command,
        quarantine: quarantine.kind,
      },
    });
    const session = new RunningSession(
      {
        ...this.options,
        clock: this.clock,
        spoolOf: (one) => this.spoolOf(one),
        settle: (one, outcome) => this.settle(one, outcome),
      },
      { id, instance, request, startedAt, expiresAt, quarantine },
    );
    this.live.set(id, session);
    session.start();
    return session.handle();
  }

  private spoolOf(id: string): string {
    return join(this.options.spoolDir, `${id}.cast`);
  }

  /** The instance is gone: no longer tainted, still held. */
  private forget(id: string): void {
    this.tainted.delete(id);
    this.destroyed.add(id);
  }

  /** The session is over: its end recorded, its instance destroyed (or left tainted). */
  private async settle(
    session: { id: string; instance: Instance },
    outcome: { ended: SessionEnd['ended']; exitCode?: number; transcriptText: string; bytes: number },
  ): Promise<SessionEnd> {
    const { instance } = session;
    const at = new Date(this.clock.now()).toISOString();
    const transcript = await this.storeTranscript(instance.digest, Buffer.from(outcome.transcriptText), {
      session: session.id,
      instance: instance.id,
      at,
    });
    this.journalEnd(
      { id: session.id, service: instance.service, digest: instance.digest, instance: instance.id },
      { ended: outcome.ended, exitCode: outcome.exitCode, transcript, bytes: outcome.bytes },
    );
    this.rows.end(session.id, {
      at,
      ended: outcome.ended,
      ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
      ...(transcript ? { transcript } : {}),
    });
    if (transcript) await rm(this.spoolOf(session.id), { force: true });
    let destroyed = false;
    try {
      await this.options.engine.remove(instance.id);
      this.rows.destroyed(session.id, new Date(this.clock.now()).toISOString());
      this.forget(instance.id);
      destroyed = true;
    } catch (error) {
      // Still tainted in herd.db: the next start destroys it.
      this.options.log.warn(
        { session: session.id, instance: instance.id, err: String(error) },
        'could not destroy a debugged instance; it stays out of service and goes at the next start',
      );
    }
    this.live.delete(session.id);
    return {
      session: session.id,
      instance: instance.id,
      ended: outcome.ended,
      ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
      ...(transcript ? { transcript } : {}),
      destroyed,
    };
  }

  private journalEnd(
    session: { id: string; service: string; digest: string; instance: string },
    outcome: {
      ended: SessionEnd['ended'];
      exitCode?: number | undefined;
      transcript: string | undefined;
      bytes: number;
      note?: string;
    },
  ): void {
    this.options.journal.append({
      actor: 'herd:debug',
      action: 'debug-end',
      service: session.service,
      digest: session.digest,
      details: {
        session: session.id,
        instance: session.instance,
        ended: outcome.ended,
        ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
        ...(outcome.transcript ? { transcript: outcome.transcript } : {}),
        transcriptBytes: outcome.bytes,
        ...(outcome.note ? { note: outcome.note } : {}),
      },
    });
  }

  /** The transcript as a referrer of the image, as drift evidence is; undefined when it could not be. */
  private async storeTranscript(
    image: Digest,
    data: Buffer,
    meta: { session: string; instance: string; at: string },
  ): Promise<string | undefined> {
    try {
      const bytes = await this.options.store.getBlob(image);
      const subject: Descriptor = { mediaType: MediaType.imageManifest, digest: image, size: bytes.length };
      const stored = await attachArtifact(this.options.store, subject, {
        artifactType: transcriptArtifactType,
        mediaType: transcriptMediaType,
        data,
        annotations: {
          'dev.herd.instance': meta.instance,
          'dev.herd.debug.session': meta.session,
          'org.opencontainers.image.created': meta.at,
        },
      });
      return stored.digest;
    } catch (error) {
      // The spool file stays in HERD_HOME/debug: nothing typed is lost.
      this.options.log.warn(
        { session: meta.session, err: String(error) },
        'could not store a debug transcript; it stays in the debug spool folder',
      );
      return undefined;
    }
  }

  private async findInstance(wanted: string): Promise<Instance> {
    const matches = (await this.options.engine.list()).filter(
      (one) =>
        (one.id === wanted || one.id.startsWith(wanted)) &&
        this.options.fleets.templateOf(one.service) !== undefined,
    );
    const [instance] = matches;
    if (!instance) {
      throw new DebugError('INSTANCE_NOT_FOUND', `no instance ${wanted} of a herd fleet on the engine`);
    }
    if (matches.length > 1) {
      throw new DebugError(
        'INSTANCE_AMBIGUOUS',
        `${wanted} names ${matches.length} instances; give more of the id`,
      );
    }
    if (instance.state !== 'running') {
      throw new DebugError(
        'INSTANCE_NOT_FOUND',
        `instance ${instance.id} is ${instance.state}, expected running`,
      );
    }
    return instance;
  }

  /** The program must be in the instance: found now, before the instance is given up for it. */
  private async checkProgram(instance: Instance, command: readonly string[]): Promise<void> {
    const [program = ''] = command;
    const abort = new AbortController();
    try {
      const stream = await this.options.engine.readPath(instance.id, program, { signal: abort.signal });
      // Only whether it is there: the stream is not read.
      (stream as { destroy?: () => void }).destroy?.();
    } catch (error) {
      if (error instanceof EngineError && error.code === 'NOT_FOUND') {
        throw new DebugError(
          'PROGRAM_MISSING',
          `${program} is not in instance ${instance.id}: name a program its image has, such as herd debug ${instance.id.slice(0, 12)} --reason … -- /usr/bin/node`,
        );
      }
      throw error;
    } finally {
      abort.abort();
    }
  }
}

/** What a running session needs from DebugSessions. */
interface SessionParts extends DebugSessionsOptions {
  clock: Clock;
  spoolOf(id: string): string;
  settle(
    session: { id: string; instance: Instance },
    outcome: { ended: SessionEnd['ended']; exitCode?: number; transcriptText: string; bytes: number },
  ): Promise<SessionEnd>;
}

/** One session's run: waiting for the front door, the program, the recording, the end. */
class RunningSession {
  private readonly feed = new EventFeed<SessionOutput>();
  private readonly outputDone = new AbortController();
  private readonly output: AsyncIterable<SessionOutput>;
  private readonly recorder: TranscriptRecorder;
  private exec: DebugExec | undefined;
  /** Typed before the program started: sent once it has. */
  private readonly early: ({ kind: 'data'; data: Buffer } | { kind: 'end' })[] = [];
  private spool: Promise<unknown> = Promise.resolve();
  private cancelTtl: (() => void) | undefined;
  private finishing: Promise<SessionEnd> | undefined;
  private settled!: (end: SessionEnd) => void;
  private readonly ended: Promise<SessionEnd>;

  constructor(
    private readonly parts: SessionParts,
    private readonly context: {
      id: string;
      instance: Instance;
      request: DebugRequest;
      startedAt: number;
      expiresAt: number;
      quarantine: QuarantineOutcome;
    },
  ) {
    this.output = this.feed.subscribe(this.outputDone.signal);
    this.ended = new Promise((resolve) => {
      this.settled = resolve;
    });
    const { request, instance } = context;
    this.recorder = new TranscriptRecorder(
      {
        startedAt: context.startedAt,
        ...(request.size ? { size: request.size } : {}),
        command: request.command,
        title: `herd debug ${instance.id.slice(0, 12)} (${instance.service}): ${request.reason}`,
      },
      parts.transcriptLimitBytes ?? defaultTranscriptLimitBytes,
    );
  }

  handle(): DebugSession {
    const { id, instance, expiresAt, quarantine } = this.context;
    return {
      id,
      instance,
      expiresAt,
      quarantine,
      output: this.output,
      write: (data) => this.write(data),
      endInput: () => {
        if (this.exec) this.exec.endInput();
        else this.early.push({ kind: 'end' });
      },
      resize: (size) => {
        void this.exec?.resize(size).catch(() => undefined);
      },
      disconnect: () => {
        void this.finish('disconnected');
      },
      ended: this.ended,
    };
  }

  start(): void {
    const { clock } = this.parts;
    this.cancelTtl = clock.setTimer(Math.max(0, this.context.expiresAt - clock.now()), () => {
      void this.finish('ttl');
    });
    void this.run().catch((error: unknown) => {
      this.notice(`the session failed: ${String((error as Error).message ?? error)}`);
      void this.finish('failed');
    });
  }

  /** Once; every way a session ends comes here. */
  finish(ended: SessionEnd['ended'], exitCode?: number): Promise<SessionEnd> {
    this.finishing ??= this.settle(ended, exitCode);
    return this.finishing;
  }

  private async run(): Promise<void> {
    const { instance, request, id, expiresAt } = this.context;
    const parts = this.parts;
    await mkdir(parts.spoolDir, { recursive: true, mode: 0o700 });
    const file = await open(this.parts.spoolOf(id), 'wx', 0o600);
    await file.close();
    this.appendSpool(this.recorder.firstLine);
    if (this.context.quarantine.kind === 'kept-serving') {
      this.notice(
        `no other instance of ${instance.service} is ready: waiting for its replacement to take over the front door`,
      );
      await this.untilOutOfDoor();
      if (this.finishing) return;
    }
    this.exec = await parts.engine.debugExec(instance.id, {
      command: request.command,
      tty: request.tty,
      ...(request.size ? { size: request.size } : {}),
    });
    if (this.finishing) {
      this.exec.close();
      return;
    }
    this.notice(
      `debug session ${id} on ${instance.id.slice(0, 12)} (${instance.service}): recorded, and the instance is destroyed when it ends (at the latest ${new Date(expiresAt).toISOString()})`,
    );
    for (const early of this.early.splice(0)) {
      if (early.kind === 'data') this.send(early.data);
      else this.exec.endInput();
    }
    for await (const frame of this.exec.output) {
      const line = this.recorder.record('o', frame.data, parts.clock.now());
      if (line) this.appendSpool(line);
      this.feed.emit({ kind: frame.stream, data: frame.data });
      if (this.recorder.full) {
        void this.finish('transcript-full');
        return;
      }
    }
    if (this.finishing) return;
    const exitCode = await this.exec.exitCode();
    void this.finish('exit', exitCode);
  }

  private async untilOutOfDoor(): Promise<void> {
    const { fleets, clock } = this.parts;
    const every = this.parts.takeoverPollMs ?? 250;
    const { instance } = this.context;
    while (!this.finishing) {
      const status = await fleets.status(instance.service).catch(() => undefined);
      const mine = status?.instances.find((one) => one.id === instance.id);
      if (mine?.serving !== true) return;
      await new Promise<void>((resolve) => clock.setTimer(every, resolve));
    }
  }

  private write(data: Buffer): void {
    if (this.finishing) return;
    if (!this.exec) {
      this.early.push({ kind: 'data', data });
      return;
    }
    this.send(data);
  }

  private send(data: Buffer): void {
    const line = this.recorder.record('i', data, this.parts.clock.now());
    if (line) this.appendSpool(line);
    if (this.recorder.full) {
      void this.finish('transcript-full');
      return;
    }
    this.exec?.write(data);
  }

  private notice(text: string): void {
    this.feed.emit({ kind: 'notice', data: Buffer.from(`${text}\n`) });
  }

  private appendSpool(line: string): void {
    const path = this.parts.spoolOf(this.context.id);
    this.spool = this.spool
      .then(async () => {
        const handle = await open(path, 'a', 0o600);
        try {
          await handle.appendFile(`${line}\n`);
        } finally {
          await handle.close();
        }
      })
      .catch((error: unknown) => {
        this.parts.log.warn(
          { session: this.context.id, err: String(error) },
          'could not spool a debug transcript line',
        );
      });
  }

  private async settle(ended: SessionEnd['ended'], exitCode?: number): Promise<SessionEnd> {
    this.cancelTtl?.();
    this.exec?.close();
    const { clock } = this.parts;
    const label =
      ended === 'exit'
        ? `the program exited${exitCode !== undefined ? ` with ${exitCode}` : ''}`
        : `session ended: ${ended}`;
    this.appendSpool(this.recorder.mark(label, clock.now()));
    await this.spool;
    const end = await this.parts.settle(
      { id: this.context.id, instance: this.context.instance },
      {
        ended,
        ...(exitCode !== undefined ? { exitCode } : {}),
        transcriptText: this.recorder.text(),
        bytes: this.recorder.bytes,
      },
    );
    this.outputDone.abort();
    this.settled(end);
    return end;
  }
}
