/**
 * The hub client (PROTOCOL.md): one WebSocket per tab at ws(s)://<host>/ws carrying every room.
 *
 * Guarantees the UI relies on:
 * - messages of a room are shown once each, in seq order: duplicates (seq already seen) are
 *   dropped, and a gap (seq jumps) re-joins the room with `since` instead of showing a hole;
 * - a message the person sends is kept in an outbox ("sending") until its ack ("sent"); after a
 *   reconnect every unacked message is sent again with the same id, which the server
 *   de-duplicates, so nothing is lost and nothing is doubled;
 * - the socket reconnects with exponential backoff and jitter; on 4401 it refreshes the access
 *   token first; a renewed token is forwarded with a `refresh` frame.
 */
import { getAccessToken, newId, onTokenChange, refreshSession, restoreSession, subscribeSession, getSession } from "./api";
import type { Appointment } from "./types";

export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "offline" | "ended";

export interface Person {
  id: string;
  role: string;
  name: string;
}

export interface Member extends Person {
  online: boolean;
}

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

export interface ConnectionSnapshot {
  state: ConnectionState;
  me: Person | null;
  /** When the next reconnect attempt happens (epoch ms), while reconnecting. */
  retryAt: number | null;
  error: string | null;
}

type Frame = { type: string; [key: string]: unknown };

const CLIENT_NAME = "web/1.0";
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15_000;
const ACK_TIMEOUT_MS = 15_000;
const TYPING_SHOW_MS = 5_000;
const TYPING_SEND_EVERY_MS = 3_000;

interface OutboxEntry {
  message: ChatMessage;
  /** Failed for lack of an ack (resent after a reconnect), not refused by the server. */
  timedOut: boolean;
  timer: ReturnType<typeof setTimeout> | null;
  /** The socket it was last sent on: after a reconnect it is sent again. */
  sentOn: WebSocket | null;
}

interface RoomData {
  name: string;
  refs: number;
  joined: boolean;
  joining: boolean;
  state: string | null;
  lastSeq: number;
  /** After a join with since=0 the replay starts wherever the server's last 50 start. */
  acceptAnyNext: boolean;
  confirmed: ChatMessage[];
  outbox: Map<string, OutboxEntry>;
  members: Map<string, Member>;
  typing: Map<string, number>;
  reads: Map<string, number>;
  readSent: number;
  typingSentAt: number;
  error: string | null;
  snapshot: RoomSnapshot;
}

function emptySnapshot(room: string): RoomSnapshot {
  return { room, joined: false, state: null, lastSeq: 0, members: [], messages: [], typing: [], reads: {}, error: null };
}

export class HubClient {
  private ws: WebSocket | null = null;
  private welcomed = false;
  private users = 0;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeatMs = 25_000;
  private lastFrameAt = 0;
  private rooms = new Map<string, RoomData>();
  private roomListeners = new Map<string, Set<() => void>>();
  private connection: ConnectionSnapshot = { state: "idle", me: null, retryAt: null, error: null };
  private connectionListeners = new Set<() => void>();
  private appointmentListeners = new Set<(appointment: Appointment) => void>();
  private started = false;
  private connecting = false;

  // ----- lifecycle -----------------------------------------------------------------------

  /** A component needs the hub; the first one opens the socket. Returns the release function. */
  acquire(): () => void {
    this.users += 1;
    this.start();
    if (!this.ws && !this.reconnectTimer) void this.connect();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.users -= 1;
    };
  }

  private start(): void {
    if (this.started || typeof window === "undefined") return;
    this.started = true;
    onTokenChange((token) => {
      if (this.ws && this.welcomed) this.transmit({ type: "refresh", token });
    });
    subscribeSession(() => {
      if (getSession().status === "anonymous") this.shutdown("Signed out.");
    });
    window.addEventListener("online", () => {
      if (this.connection.state === "offline" || this.connection.state === "reconnecting") this.reconnectNow();
    });
    window.addEventListener("offline", () => {
      if (this.connection.state !== "ended" && this.connection.state !== "idle") this.setConnection({ state: "offline" });
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.connection.state === "reconnecting") this.reconnectNow();
    });
  }

  private async connect(): Promise<void> {
    if (this.ws || this.connecting || typeof window === "undefined") return;
    this.connecting = true;
    try {
      await this.open();
    } finally {
      this.connecting = false;
    }
  }

  private async open(): Promise<void> {
    this.setConnection({ state: this.attempt === 0 ? "connecting" : "reconnecting", retryAt: null });
    let token = getAccessToken();
    if (!token) {
      await restoreSession();
      token = getAccessToken();
    }
    if (!token) {
      this.setConnection({ state: "ended", error: "Sign in to connect." });
      return;
    }
    if (this.ws) return;
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    let ws: WebSocket;
    try {
      ws = new WebSocket(`${scheme}://${window.location.host}/ws`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.welcomed = false;
    ws.onopen = () => {
      this.lastFrameAt = Date.now();
      const current = getAccessToken() ?? token;
      ws.send(JSON.stringify({ type: "hello", token: current, client: CLIENT_NAME }));
    };
    ws.onmessage = (event: MessageEvent) => {
      if (ws !== this.ws) return;
      this.lastFrameAt = Date.now();
      if (typeof event.data !== "string") return;
      let frame: Frame;
      try {
        frame = JSON.parse(event.data) as Frame;
      } catch {
        return;
      }
      this.handle(frame);
    };
    ws.onclose = (event: CloseEvent) => {
      if (ws !== this.ws) return;
      this.onClosed(event.code, event.reason);
    };
  }

  private onClosed(code: number, reason: string): void {
    this.ws = null;
    this.welcomed = false;
    this.stopPing();
    for (const room of this.rooms.values()) {
      room.joined = false;
      room.joining = false;
      room.typing.clear();
      for (const entry of room.outbox.values()) this.clearAckTimer(entry);
      this.emitRoom(room);
    }
    if (code === 4401) {
      // The token expired or was revoked: renew it, then reconnect (or end if the session ended).
      this.setConnection({ state: "reconnecting", retryAt: null });
      refreshSession()
        .then((token) => {
          if (token) this.scheduleReconnect(this.attempt === 0);
          else this.setConnection({ state: "ended", error: "Your session has ended. Please sign in again." });
        })
        .catch(() => this.scheduleReconnect());
      return;
    }
    if (code === 4403) {
      this.setConnection({ state: "ended", error: "This account has been disabled." });
      return;
    }
    if (this.connection.state === "ended" || this.connection.state === "idle") return;
    this.setConnection({ error: reason || null });
    this.scheduleReconnect();
  }

  private scheduleReconnect(immediate = false): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (typeof navigator !== "undefined" && navigator.onLine === false) {
      this.setConnection({ state: "offline", retryAt: null });
      return;
    }
    this.attempt += 1;
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (this.attempt - 1));
    // "Equal jitter": at least half the ceiling, so a restarting server is not stampeded.
    const delay = immediate ? 0 : ceiling / 2 + Math.random() * (ceiling / 2);
    this.setConnection({ state: "reconnecting", retryAt: Date.now() + delay });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
  }

  private reconnectNow(): void {
    if (this.ws) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    void this.connect();
  }

  /** Close the socket and forget every room (sign-out). */
  shutdown(reason: string | null = null): void {
    this.setConnection({ state: "idle", me: null, retryAt: null, error: reason });
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    this.welcomed = false;
    this.attempt = 0;
    ws?.close(1000, "bye");
    for (const room of this.rooms.values()) {
      for (const entry of room.outbox.values()) this.clearAckTimer(entry);
    }
    this.rooms.clear();
  }

  /** Drop the socket as a network failure would (used by the end-to-end tests and "Reconnect"). */
  dropConnection(): void {
    this.ws?.close(4000, "dropped by the client");
  }

  // ----- frames --------------------------------------------------------------------------

  private transmit(frame: Frame): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  private handle(frame: Frame): void {
    switch (frame.type) {
      case "welcome":
        return this.onWelcome(frame);
      case "joined":
        return this.onJoined(frame);
      case "message":
        return this.onMessage(frame);
      case "ack":
        return this.onAck(frame);
      case "error":
        return this.onError(frame);
      case "presence":
        return this.onPresence(frame);
      case "typing":
        return this.onTyping(frame);
      case "read":
        return this.onRead(frame);
      case "room_state":
        return this.onRoomState(frame);
      case "appointment": {
        const appointment = frame.appointment as Appointment | undefined;
        if (appointment) for (const listener of this.appointmentListeners) listener(appointment);
        return;
      }
      case "ping":
        this.transmit({ type: "pong" });
        return;
      default:
        return;
    }
  }

  private onWelcome(frame: Frame): void {
    this.welcomed = true;
    this.attempt = 0;
    const user = frame.user as Person | undefined;
    const heartbeat = Number(frame.heartbeat_s);
    this.heartbeatMs = Number.isFinite(heartbeat) && heartbeat > 0 ? heartbeat * 1000 : 25_000;
    this.setConnection({ state: "open", me: user ?? null, retryAt: null, error: null });
    this.startPing();
    for (const room of this.rooms.values()) this.sendJoin(room);
  }

  private sendJoin(room: RoomData): void {
    if (!this.welcomed || room.joining) return;
    room.joining = true;
    room.acceptAnyNext = room.lastSeq === 0;
    const frame: Frame = { type: "join", room: room.name };
    if (room.lastSeq > 0) frame.since = room.lastSeq;
    this.transmit(frame);
  }

  private onJoined(frame: Frame): void {
    const room = this.rooms.get(String(frame.room));
    if (!room) return;
    room.joined = true;
    room.joining = false;
    room.error = null;
    if (typeof frame.state === "string") room.state = frame.state;
    const lastSeq = Number(frame.last_seq ?? 0);
    if (lastSeq === 0) room.acceptAnyNext = false;
    if (Array.isArray(frame.members)) {
      room.members = new Map((frame.members as Member[]).map((m) => [m.id, { ...m }]));
    }
    // Everything still unacked goes again, with its original id (the server de-duplicates).
    for (const entry of room.outbox.values()) {
      const unacked = entry.message.status === "sending" || (entry.message.status === "failed" && entry.timedOut);
      if (unacked && entry.sentOn !== this.ws) {
        this.transmitMessage(room, entry);
      }
    }
    this.emitRoom(room);
  }

  private onMessage(frame: Frame): void {
    const room = this.rooms.get(String(frame.room));
    if (!room) return;
    const seq = Number(frame.seq);
    if (!Number.isInteger(seq) || seq < 1) return;
    const sender = (frame.sender as Person | undefined) ?? { id: "", role: "", name: "" };
    const id = String(frame.id ?? `seq-${seq}`);
    const mine = sender.id !== "" && sender.id === this.connection.me?.id;
    if (room.acceptAnyNext) {
      room.acceptAnyNext = false;
      if (seq > room.lastSeq) room.lastSeq = seq - 1;
    }
    if (seq <= room.lastSeq) {
      // Already shown (a replay overlapping live traffic, or a resend's echo).
      if (mine) this.settle(room, id);
      return;
    }
    if (seq > room.lastSeq + 1) {
      // A hole: fetch what is missing instead of showing messages out of order.
      this.sendJoin(room);
      return;
    }
    room.lastSeq = seq;
    room.confirmed.push({
      id,
      seq,
      sender,
      body: String(frame.body ?? ""),
      ts: typeof frame.ts === "string" ? frame.ts : null,
      mine,
      status: "sent",
    });
    room.typing.delete(sender.id);
    if (mine) this.settle(room, id);
    this.emitRoom(room);
  }

  /** The message with this client id is now in the confirmed list: drop it from the outbox. */
  private settle(room: RoomData, id: string): void {
    const entry = room.outbox.get(id);
    if (!entry) return;
    this.clearAckTimer(entry);
    room.outbox.delete(id);
    this.emitRoom(room);
  }

  private onAck(frame: Frame): void {
    const room = this.rooms.get(String(frame.room));
    const id = String(frame.id);
    if (!room) return;
    const entry = room.outbox.get(id);
    if (!entry) return;
    this.clearAckTimer(entry);
    const seq = Number(frame.seq);
    entry.message = {
      ...entry.message,
      status: "sent",
      seq: Number.isInteger(seq) ? seq : null,
      ts: typeof frame.ts === "string" ? frame.ts : entry.message.ts,
      error: undefined,
    };
    entry.timedOut = false;
    // Its `message` echo may already have been shown (seq <= lastSeq): then it is settled.
    if (entry.message.seq !== null && entry.message.seq <= room.lastSeq) {
      room.outbox.delete(id);
    }
    this.emitRoom(room);
  }

  private onError(frame: Frame): void {
    const code = String(frame.code ?? "error");
    const text = String(frame.message ?? code);
    const ref = frame.ref === undefined || frame.ref === null ? null : String(frame.ref);
    if (ref) {
      for (const room of this.rooms.values()) {
        const entry = room.outbox.get(ref);
        if (entry) {
          this.clearAckTimer(entry);
          entry.timedOut = false;
          entry.message = { ...entry.message, status: "failed", error: explainHubError(code, text) };
          this.emitRoom(room);
          return;
        }
      }
    }
    const roomName = typeof frame.room === "string" ? frame.room : null;
    const room = roomName ? this.rooms.get(roomName) : undefined;
    if (room) {
      room.joining = false;
      room.error = explainHubError(code, text);
      this.emitRoom(room);
      return;
    }
    // A join refused without a room field: attach to rooms still waiting for `joined`.
    let attached = false;
    for (const r of this.rooms.values()) {
      if (r.joining) {
        r.joining = false;
        r.error = explainHubError(code, text);
        this.emitRoom(r);
        attached = true;
      }
    }
    if (!attached) this.setConnection({ error: explainHubError(code, text) });
  }

  private onPresence(frame: Frame): void {
    const room = this.rooms.get(String(frame.room));
    const user = frame.user as Person | undefined;
    if (!room || !user) return;
    room.members.set(user.id, { ...user, online: Boolean(frame.online) });
    if (!frame.online) room.typing.delete(user.id);
    this.emitRoom(room);
  }

  private onTyping(frame: Frame): void {
    const room = this.rooms.get(String(frame.room));
    const user = String(frame.user ?? "");
    if (!room || !user || user === this.connection.me?.id) return;
    room.typing.set(user, Date.now() + TYPING_SHOW_MS);
    this.emitRoom(room);
    setTimeout(() => {
      const until = room.typing.get(user);
      if (until !== undefined && until <= Date.now()) {
        room.typing.delete(user);
        this.emitRoom(room);
      }
    }, TYPING_SHOW_MS + 50);
  }

  private onRead(frame: Frame): void {
    const room = this.rooms.get(String(frame.room));
    const user = String(frame.user ?? "");
    const seq = Number(frame.seq);
    if (!room || !user || !Number.isInteger(seq)) return;
    if ((room.reads.get(user) ?? 0) < seq) {
      room.reads.set(user, seq);
      this.emitRoom(room);
    }
  }

  private onRoomState(frame: Frame): void {
    const room = this.rooms.get(String(frame.room));
    if (!room || typeof frame.state !== "string") return;
    room.state = frame.state;
    this.emitRoom(room);
  }

  // ----- heartbeats ----------------------------------------------------------------------

  private startPing(): void {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastFrameAt > 2 * this.heartbeatMs + 5_000) {
        // Nothing heard for too long: the connection is dead even if the browser has not noticed.
        this.ws?.close(4000, "heartbeat timeout");
        return;
      }
      this.transmit({ type: "ping" });
    }, this.heartbeatMs);
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  // ----- rooms ---------------------------------------------------------------------------

  /** Start following a room; returns the function that stops following it. */
  joinRoom(name: string): () => void {
    let room = this.rooms.get(name);
    if (!room) {
      room = {
        name,
        refs: 0,
        joined: false,
        joining: false,
        state: null,
        lastSeq: 0,
        acceptAnyNext: true,
        confirmed: [],
        outbox: new Map(),
        members: new Map(),
        typing: new Map(),
        reads: new Map(),
        readSent: 0,
        typingSentAt: 0,
        error: null,
        snapshot: emptySnapshot(name),
      };
      this.rooms.set(name, room);
      this.emitRoom(room);
    }
    room.refs += 1;
    if (this.welcomed && !room.joined) this.sendJoin(room);
    const target = room;
    return () => {
      target.refs -= 1;
      if (target.refs > 0) return;
      // Keep the data a moment: React strict mode and quick navigations re-join at once.
      setTimeout(() => {
        if (target.refs > 0 || this.rooms.get(name) !== target) return;
        if (target.outbox.size > 0) return; // never drop unsent messages
        this.transmit({ type: "leave", room: name });
        this.rooms.delete(name);
      }, 1_000);
    };
  }

  send(roomName: string, body: string): void {
    const room = this.rooms.get(roomName);
    const text = body.trim();
    if (!room || !text) return;
    const me = this.connection.me ?? { id: getSession().user?.id ?? "", role: getSession().user?.role ?? "", name: getSession().user?.full_name ?? "" };
    const entry: OutboxEntry = {
      message: { id: newId(), seq: null, sender: me, body: text, ts: new Date().toISOString(), mine: true, status: "sending" },
      timedOut: false,
      timer: null,
      sentOn: null,
    };
    room.outbox.set(entry.message.id, entry);
    if (room.joined) this.transmitMessage(room, entry);
    this.emitRoom(room);
  }

  /** Try a failed message again, with the same id. */
  retry(roomName: string, id: string): void {
    const room = this.rooms.get(roomName);
    const entry = room?.outbox.get(id);
    if (!room || !entry) return;
    entry.message = { ...entry.message, status: "sending", error: undefined };
    entry.timedOut = false;
    if (room.joined) this.transmitMessage(room, entry);
    this.emitRoom(room);
  }

  /** Give up on a failed message. */
  discard(roomName: string, id: string): void {
    const room = this.rooms.get(roomName);
    if (!room) return;
    const entry = room.outbox.get(id);
    if (entry) this.clearAckTimer(entry);
    room.outbox.delete(id);
    this.emitRoom(room);
  }

  private transmitMessage(room: RoomData, entry: OutboxEntry): void {
    entry.message = { ...entry.message, status: "sending", error: undefined };
    entry.timedOut = false;
    const sent = this.transmit({ type: "send", room: room.name, id: entry.message.id, body: entry.message.body });
    if (!sent) return; // stays "sending"; goes out after the reconnect
    entry.sentOn = this.ws;
    this.clearAckTimer(entry);
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (room.outbox.get(entry.message.id) !== entry || entry.message.status !== "sending") return;
      entry.timedOut = true;
      entry.message = { ...entry.message, status: "failed", error: "No answer from the server yet; it will be sent again when the connection recovers." };
      this.emitRoom(room);
    }, ACK_TIMEOUT_MS);
  }

  private clearAckTimer(entry: OutboxEntry): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
  }

  notifyTyping(roomName: string): void {
    const room = this.rooms.get(roomName);
    if (!room || !room.joined) return;
    const now = Date.now();
    if (now - room.typingSentAt < TYPING_SEND_EVERY_MS) return;
    room.typingSentAt = now;
    this.transmit({ type: "typing", room: roomName });
  }

  markRead(roomName: string, seq: number): void {
    const room = this.rooms.get(roomName);
    if (!room || !room.joined || seq <= room.readSent) return;
    if (this.transmit({ type: "read", room: roomName, seq })) room.readSent = seq;
  }

  // ----- snapshots for React -------------------------------------------------------------

  private emitRoom(room: RoomData): void {
    const pending = [...room.outbox.values()]
      .map((e) => e.message)
      .filter((m) => m.seq === null || m.seq > room.lastSeq);
    const typing: Person[] = [];
    for (const userId of room.typing.keys()) {
      const member = room.members.get(userId);
      typing.push(member ? { id: member.id, role: member.role, name: member.name } : { id: userId, role: "", name: "Someone" });
    }
    room.snapshot = {
      room: room.name,
      joined: room.joined,
      state: room.state,
      lastSeq: room.lastSeq,
      members: [...room.members.values()],
      messages: [...room.confirmed, ...pending],
      typing,
      reads: Object.fromEntries(room.reads),
      error: room.error,
    };
    for (const listener of this.roomListeners.get(room.name) ?? []) listener();
  }

  roomSnapshot(name: string): RoomSnapshot | null {
    return this.rooms.get(name)?.snapshot ?? null;
  }

  /** Listen to a room by name, whether or not it is followed yet. */
  subscribeRoomLazy(name: string, listener: () => void): () => void {
    let set = this.roomListeners.get(name);
    if (!set) {
      set = new Set();
      this.roomListeners.set(name, set);
    }
    set.add(listener);
    const target = set;
    return () => {
      target.delete(listener);
      if (target.size === 0 && this.roomListeners.get(name) === target) this.roomListeners.delete(name);
    };
  }

  private setConnection(patch: Partial<ConnectionSnapshot>): void {
    this.connection = { ...this.connection, ...patch };
    for (const listener of this.connectionListeners) listener();
  }

  connectionSnapshot(): ConnectionSnapshot {
    return this.connection;
  }

  subscribeConnection(listener: () => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  onAppointment(listener: (appointment: Appointment) => void): () => void {
    this.appointmentListeners.add(listener);
    return () => this.appointmentListeners.delete(listener);
  }

  get activeUsers(): number {
    return this.users;
  }
}

/** Words for an `error` frame code. */
export function explainHubError(code: string, message: string): string {
  switch (code) {
    case "room_closed":
      return "This conversation is closed: messages can be sent only in the waiting room or during the visit.";
    case "rate_limited":
      return "You are sending messages too quickly; wait a few seconds and try again.";
    case "too_large":
      return "That message is too long.";
    case "forbidden":
      return "You are not a member of this conversation.";
    case "not_found":
      return "This conversation does not exist.";
    case "unauthorized":
      return "Your session has expired; reconnecting.";
    default:
      return message || "The chat server reported an error.";
  }
}

let singleton: HubClient | null = null;

/** The tab's one hub client. */
export function getHub(): HubClient {
  if (!singleton) {
    singleton = new HubClient();
    if (typeof window !== "undefined") {
      (window as unknown as { __careconnectHub?: HubClient }).__careconnectHub = singleton;
    }
  }
  return singleton;
}
