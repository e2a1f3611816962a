/**
 * A room's outbox: messages the person sent that the server has not confirmed yet.
 *
 * An entry stays "sending" until its ack ("sent"), turns "failed" when the server refuses it or
 * no ack comes in time, and is dropped once its `message` echo is shown. After a reconnect every
 * unacked entry is sent again with the same id, which the server de-duplicates, so nothing is
 * lost and nothing is doubled.
 */
import type { ClientFrame } from "./frames";
import type { ChatMessage } from "./room";
import { t } from "../i18n";

const ACK_TIMEOUT_MS = 15_000;

/** The part of the transport the outbox sends through. */
export interface FrameSink {
  send(frame: ClientFrame): boolean;
  readonly socket: WebSocket | null;
}

interface OutboxEntry {
  message: ChatMessage;
  /** Failed for lack of an ack (resent after a reconnect), not refused by the server. */
  timedOut: boolean;
  timer: ReturnType<typeof setTimeout> | null;
  /** The socket it was last sent on: after a reconnect it is sent again. */
  sentOn: WebSocket | null;
}

export class Outbox {
  private entries = new Map<string, OutboxEntry>();

  /**
   * @param room the room's name, for the `send` frames.
   * @param sink where frames go.
   * @param changed called when an entry changes on its own (an ack timeout).
   */
  constructor(
    private readonly room: string,
    private readonly sink: FrameSink,
    private readonly changed: () => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The messages still shown from the outbox: those whose echo is not in the confirmed list. */
  pending(lastSeq: number): ChatMessage[] {
    return [...this.entries.values()].map((e) => e.message).filter((m) => m.seq === null || m.seq > lastSeq);
  }

  /** Keep a new message; `send` it now when the room is joined. */
  add(message: ChatMessage, joined: boolean): void {
    const entry: OutboxEntry = { message, timedOut: false, timer: null, sentOn: null };
    this.entries.set(message.id, entry);
    if (joined) this.transmit(entry);
  }

  /** After a (re)join: everything still unacked goes again, with its original id. */
  resendUnacked(): void {
    for (const entry of this.entries.values()) {
      const unacked = entry.message.status === "sending" || (entry.message.status === "failed" && entry.timedOut);
      if (unacked && entry.sentOn !== this.sink.socket) this.transmit(entry);
    }
  }

  /** The message with this id is now in the confirmed list; true if it was here. */
  settle(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    clearAckTimer(entry);
    this.entries.delete(id);
    return true;
  }

  /** The server stored the message; true if it was here. */
  ack(id: string, seq: number, ts: unknown, lastSeq: number): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    clearAckTimer(entry);
    entry.message = {
      ...entry.message,
      status: "sent",
      seq: Number.isInteger(seq) ? seq : null,
      ts: typeof ts === "string" ? ts : entry.message.ts,
      error: undefined,
    };
    entry.timedOut = false;
    // Its `message` echo may already have been shown (seq <= lastSeq): then it is settled.
    if (entry.message.seq !== null && entry.message.seq <= lastSeq) this.entries.delete(id);
    return true;
  }

  /** The server refused the message; true if it was here. */
  refuse(id: string, error: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    clearAckTimer(entry);
    entry.timedOut = false;
    entry.message = { ...entry.message, status: "failed", error };
    return true;
  }

  /** Try a failed message again, with the same id; true if it was here. */
  retry(id: string, joined: boolean): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    entry.message = { ...entry.message, status: "sending", error: undefined };
    entry.timedOut = false;
    if (joined) this.transmit(entry);
    return true;
  }

  /** Give up on a message. */
  discard(id: string): void {
    const entry = this.entries.get(id);
    if (entry) clearAckTimer(entry);
    this.entries.delete(id);
  }

  /** The socket is gone: no ack can come on it. */
  stopTimers(): void {
    for (const entry of this.entries.values()) clearAckTimer(entry);
  }

  private transmit(entry: OutboxEntry): void {
    entry.message = { ...entry.message, status: "sending", error: undefined };
    entry.timedOut = false;
    const files = entry.message.attachments?.map((a) => a.id);
    const sent = this.sink.send({ type: "send", room: this.room, id: entry.message.id, body: entry.message.body, ...(files?.length ? { attachments: files } : {}) });
    if (!sent) return; // stays "sending"; goes out after the reconnect
    entry.sentOn = this.sink.socket;
    clearAckTimer(entry);
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (this.entries.get(entry.message.id) !== entry || entry.message.status !== "sending") return;
      entry.timedOut = true;
      entry.message = {
        ...entry.message,
        status: "failed",
        error: t().hub.noAnswerYet,
      };
      this.changed();
    }, ACK_TIMEOUT_MS);
  }
}

function clearAckTimer(entry: OutboxEntry): void {
  if (entry.timer) clearTimeout(entry.timer);
  entry.timer = null;
}
