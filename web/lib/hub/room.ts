/**
 * One followed room's state: members, seq, typing, reads, and the messages in seq order.
 *
 * Messages are shown once each, in seq order: a duplicate (seq already seen) is dropped, and a
 * gap (seq jumps) asks for a re-join with `since` instead of showing a hole. Every change builds
 * a new immutable `RoomSnapshot` for React.
 */
import type { AttachmentMeta, JoinedFrame, Member, MessageFrame, Person, PresenceFrame, ReadFrame, RoomStateFrame, TypingFrame } from "./frames";
import { Outbox, type FrameSink } from "./outbox";

export type MessageStatus = "sending" | "sent" | "failed";

export interface ChatMessage {
  /** Stable React key: the client message id. */
  id: string;
  seq: number | null;
  sender: Person;
  body: string;
  ts: string | null;
  mine: boolean;
  status: MessageStatus;
  error?: string;
  /** "call": a video call's start or end, shown as a line of its own. */
  kind?: "text" | "call";
  attachments?: AttachmentMeta[];
}

export interface RoomSnapshot {
  room: string;
  joined: boolean;
  state: string | null;
  lastSeq: number;
  members: Member[];
  messages: ChatMessage[];
  typing: Person[];
  /** user id -> the last seq that user has read */
  reads: Record<string, number>;
  error: string | null;
}

const TYPING_SHOW_MS = 5_000;

export function emptySnapshot(room: string): RoomSnapshot {
  return { room, joined: false, state: null, lastSeq: 0, members: [], messages: [], typing: [], reads: {}, error: null };
}

const READS_KEY = "cc-reads:";

/** The read marks this tab last heard in a room (sessionStorage: they outlive a reload). */
function loadReads(room: string): Record<string, number> {
  try {
    const raw = typeof window === "undefined" ? null : window.sessionStorage.getItem(READS_KEY + room);
    const value: unknown = raw ? JSON.parse(raw) : null;
    if (typeof value !== "object" || value === null) return {};
    return Object.fromEntries(Object.entries(value).filter((e): e is [string, number] => Number.isInteger(e[1])));
  } catch {
    return {};
  }
}

function saveReads(room: string, reads: Map<string, number>): void {
  try {
    window.sessionStorage.setItem(READS_KEY + room, JSON.stringify(Object.fromEntries(reads)));
  } catch {
    // Storage full or off: the marks are only not kept.
  }
}

/** What became of a `message` frame. */
export type Arrival = "shown" | "duplicate" | "gap" | "ignored";

export class Room {
  refs = 0;
  joined = false;
  joining = false;
  state: string | null = null;
  lastSeq = 0;
  /** After a join with since=0 the replay starts wherever the server's last 50 start. */
  acceptAnyNext = true;
  readSent = 0;
  /** user id -> when this tab last answered their `read` with its own mark (client.ts). */
  readonly answeredReadAt = new Map<string, number>();
  typingSentAt = 0;
  error: string | null = null;
  readonly outbox: Outbox;
  snapshot: RoomSnapshot;
  private confirmed: ChatMessage[] = [];
  private members = new Map<string, Member>();
  private typing = new Map<string, number>();
  private reads = new Map<string, number>();

  /**
   * @param name the room's name.
   * @param sink where its outbox sends.
   * @param changed called after `emit` built a new snapshot.
   */
  constructor(
    readonly name: string,
    sink: FrameSink,
    private readonly changed: () => void,
  ) {
    this.snapshot = emptySnapshot(name);
    this.outbox = new Outbox(name, sink, () => this.emit());
    this.reads = new Map(Object.entries(loadReads(name)));
  }

  /** A `join` is about to go out; `since` is what to ask for (0: the server's recent history). */
  beginJoin(): number {
    this.joining = true;
    this.acceptAnyNext = this.lastSeq === 0;
    return this.lastSeq;
  }

  onJoined(frame: JoinedFrame): void {
    this.joined = true;
    this.joining = false;
    this.error = null;
    if (typeof frame.state === "string") this.state = frame.state;
    const lastSeq = Number(frame.last_seq ?? 0);
    if (lastSeq === 0) this.acceptAnyNext = false;
    if (Array.isArray(frame.members)) {
      this.members = new Map(frame.members.map((m) => [m.id, { ...m }]));
    }
  }

  /** Place a `message` frame; on a gap the caller re-joins with `since`. */
  onMessage(frame: MessageFrame, meId: string | undefined): Arrival {
    const seq = Number(frame.seq);
    if (!Number.isInteger(seq) || seq < 1) return "ignored";
    const sender = (frame.sender as Person | undefined) ?? { id: "", role: "", name: "" };
    const id = String(frame.id ?? `seq-${seq}`);
    const mine = sender.id !== "" && sender.id === meId;
    if (this.acceptAnyNext) {
      this.acceptAnyNext = false;
      if (seq > this.lastSeq) this.lastSeq = seq - 1;
    }
    if (seq <= this.lastSeq) {
      // Already shown (a replay overlapping live traffic, or a resend's echo).
      if (mine && this.outbox.settle(id)) this.emit();
      return "duplicate";
    }
    if (seq > this.lastSeq + 1) return "gap"; // fetch what is missing instead of showing it out of order
    this.lastSeq = seq;
    this.confirmed.push({
      id,
      seq,
      sender,
      body: String(frame.body ?? ""),
      ts: typeof frame.ts === "string" ? frame.ts : null,
      mine,
      status: "sent",
      kind: frame.kind === "call" ? "call" : "text",
      ...(Array.isArray(frame.attachments) && frame.attachments.length > 0 ? { attachments: frame.attachments } : {}),
    });
    this.typing.delete(sender.id);
    if (mine && this.outbox.settle(id)) this.emit();
    this.emit();
    return "shown";
  }

  onPresence(frame: PresenceFrame): void {
    const user = frame.user as Person | undefined;
    if (!user) return;
    this.members.set(user.id, { ...user, online: Boolean(frame.online) });
    if (!frame.online) this.typing.delete(user.id);
    this.emit();
  }

  onTyping(frame: TypingFrame, meId: string | undefined): void {
    const user = String(frame.user ?? "");
    if (!user || user === meId) return;
    this.typing.set(user, Date.now() + TYPING_SHOW_MS);
    this.emit();
    setTimeout(() => {
      const until = this.typing.get(user);
      if (until !== undefined && until <= Date.now()) {
        this.typing.delete(user);
        this.emit();
      }
    }, TYPING_SHOW_MS + 50);
  }

  onRead(frame: ReadFrame): void {
    const user = String(frame.user ?? "");
    const seq = Number(frame.seq);
    if (!user || !Number.isInteger(seq)) return;
    if ((this.reads.get(user) ?? 0) < seq) {
      this.reads.set(user, seq);
      saveReads(this.name, this.reads);
      this.emit();
    }
  }

  onRoomState(frame: RoomStateFrame): void {
    if (typeof frame.state !== "string") return;
    this.state = frame.state;
    this.emit();
  }

  /** The socket is gone: not joined, nobody is typing, no ack can come. */
  disconnected(): void {
    this.joined = false;
    this.joining = false;
    this.typing.clear();
    // Presence is unknown without a connection: nobody (this person included) shows as online.
    for (const [id, member] of this.members) this.members.set(id, { ...member, online: false });
    this.outbox.stopTimers();
    this.emit();
  }

  /** Build a new snapshot and tell the listeners. */
  emit(): void {
    const typing: Person[] = [];
    for (const userId of this.typing.keys()) {
      const member = this.members.get(userId);
      typing.push(member ? { id: member.id, role: member.role, name: member.name } : { id: userId, role: "", name: "Someone" });
    }
    this.snapshot = {
      room: this.name,
      joined: this.joined,
      state: this.state,
      lastSeq: this.lastSeq,
      members: [...this.members.values()],
      messages: [...this.confirmed, ...this.outbox.pending(this.lastSeq)],
      typing,
      reads: Object.fromEntries(this.reads),
      error: this.error,
    };
    this.changed();
  }
}
