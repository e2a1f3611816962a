/**
 * The hub client (PROTOCOL.md): one WebSocket per tab at ws(s)://<host>/ws carrying every room.
 *
 * It routes the server's frames to the rooms it follows. The socket and reconnecting live in
 * `transport.ts`, a room's state and seq order in `room.ts`, unacked sends in `outbox.ts`.
 */
import { getSession, newId } from "../api";
import type { Appointment, NotificationItem } from "../types";
import type { AttachmentMeta, ErrorFrame, ServerFrame, SignalFrame, SignalKind } from "./frames";
import { Room, type RoomSnapshot } from "./room";
import { HubTransport, type ConnectionSnapshot } from "./transport";
import { t } from "../i18n";

const TYPING_SEND_EVERY_MS = 3_000;
const READ_ANSWER_EVERY_MS = 1_500;

export class HubClient {
  private users = 0;
  private rooms = new Map<string, Room>();
  private roomListeners = new Map<string, Set<() => void>>();
  private appointmentListeners = new Set<(appointment: Appointment) => void>();
  private notificationListeners = new Set<(notification: NotificationItem) => void>();
  private signalListeners = new Set<(frame: SignalFrame) => void>();
  private signalErrorListeners = new Set<(room: string, code: string, message: string) => void>();
  /** When this tab last signalled in a room: a ref-less error for it soon after is the signal's. */
  private signalledAt = new Map<string, number>();
  private readonly transport = new HubTransport({
    frame: (frame) => this.handle(frame),
    closed: () => {
      for (const room of this.rooms.values()) room.disconnected();
    },
    signedOut: () => this.shutdown(t().hub.signedOut),
  });

  // ----- lifecycle -----------------------------------------------------------------------

  /** A component needs the hub; the first one opens the socket. Returns the release function. */
  acquire(): () => void {
    this.users += 1;
    this.transport.ensureOpen();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.users -= 1;
    };
  }

  /** Close the socket and forget every room (sign-out). */
  shutdown(reason: string | null = null): void {
    this.transport.shutdown(reason);
    for (const room of this.rooms.values()) room.outbox.stopTimers();
    this.rooms.clear();
  }

  /** Drop the socket as a network failure would (a "Reconnect" control may call it). */
  dropConnection(): void {
    this.transport.drop();
  }

  // ----- frames --------------------------------------------------------------------------

  private handle(frame: ServerFrame): void {
    switch (frame.type) {
      case "welcome":
        for (const room of this.rooms.values()) this.sendJoin(room);
        return;
      case "joined": {
        const room = this.rooms.get(String(frame.room));
        if (!room) return;
        room.onJoined(frame);
        room.outbox.resendUnacked();
        room.emit();
        return;
      }
      case "message": {
        const room = this.rooms.get(String(frame.room));
        if (room && room.onMessage(frame, this.me()) === "gap") this.sendJoin(room);
        return;
      }
      case "ack": {
        const room = this.rooms.get(String(frame.room));
        if (room && room.outbox.ack(String(frame.id), Number(frame.seq), frame.ts, room.lastSeq)) room.emit();
        return;
      }
      case "error":
        return this.onError(frame);
      case "presence": {
        const room = this.rooms.get(String(frame.room));
        if (!room) return;
        room.onPresence(frame);
        // Read receipts are not stored: tell someone who (re)joins how far this person has read,
        // so their "Seen" survives a reload.
        if (frame.online && frame.user?.id !== this.me() && room.readSent > 0) {
          this.transport.send({ type: "read", room: room.name, seq: room.readSent });
        }
        return;
      }
      case "typing":
        return this.rooms.get(String(frame.room))?.onTyping(frame, this.me());
      case "read": {
        const room = this.rooms.get(String(frame.room));
        if (!room) return;
        const user = String(frame.user ?? "");
        const known = room.snapshot.reads[user] ?? 0;
        room.onRead(frame);
        // A mark that is no news comes from a new tab or a reload of that person (its first
        // `read`): answer once with this person's own mark so their "Seen" is right there too.
        // At most once per person per 1.5 s, so two tabs never keep answering each other.
        const now = Date.now();
        if (user && user !== this.me() && Number(frame.seq) <= known && room.readSent > 0 && now - (room.answeredReadAt.get(user) ?? 0) > READ_ANSWER_EVERY_MS) {
          room.answeredReadAt.set(user, now);
          this.transport.send({ type: "read", room: room.name, seq: room.readSent });
        }
        return;
      }
      case "room_state":
        return this.rooms.get(String(frame.room))?.onRoomState(frame);
      case "appointment": {
        const appointment = frame.appointment as Appointment | undefined;
        if (appointment) for (const listener of this.appointmentListeners) listener(appointment);
        return;
      }
      case "notification": {
        const notification = frame.notification as NotificationItem | undefined;
        if (notification) for (const listener of this.notificationListeners) listener(notification);
        return;
      }
      case "signal":
        for (const listener of this.signalListeners) listener(frame);
        return;
      default:
        return;
    }
  }

  private me(): string | undefined {
    return this.transport.connectionSnapshot().me?.id;
  }

  private sendJoin(room: Room): void {
    if (!this.transport.isWelcomed || room.joining) return;
    const since = room.beginJoin();
    this.transport.send(since > 0 ? { type: "join", room: room.name, since } : { type: "join", room: room.name });
  }

  private onError(frame: ErrorFrame): void {
    const code = String(frame.code ?? "error");
    const text = String(frame.message ?? code);
    const ref = frame.ref === undefined || frame.ref === null ? null : String(frame.ref);
    if (ref) {
      for (const room of this.rooms.values()) {
        if (room.outbox.refuse(ref, explainHubError(code, text))) {
          room.emit();
          return;
        }
      }
    }
    const roomName = typeof frame.room === "string" ? frame.room : null;
    const room = roomName ? this.rooms.get(roomName) : undefined;
    if (roomName && !room?.joining && Date.now() - (this.signalledAt.get(roomName) ?? 0) < 5_000) {
      for (const listener of this.signalErrorListeners) listener(roomName, code, explainHubError(code, text));
      return;
    }
    if (room) {
      room.joining = false;
      room.error = explainHubError(code, text);
      room.emit();
      return;
    }
    // A join refused without a room field: attach to rooms still waiting for `joined`.
    let attached = false;
    for (const r of this.rooms.values()) {
      if (r.joining) {
        r.joining = false;
        r.error = explainHubError(code, text);
        r.emit();
        attached = true;
      }
    }
    if (!attached) this.transport.setConnection({ error: explainHubError(code, text) });
  }

  // ----- rooms ---------------------------------------------------------------------------

  /** Start following a room; returns the function that stops following it. */
  joinRoom(name: string): () => void {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name, this.transport, () => {
        for (const listener of this.roomListeners.get(name) ?? []) listener();
      });
      this.rooms.set(name, room);
      room.emit();
    }
    room.refs += 1;
    if (this.transport.isWelcomed && !room.joined) this.sendJoin(room);
    const target = room;
    return () => {
      target.refs -= 1;
      if (target.refs > 0) return;
      // Keep the data a moment: React strict mode and quick navigations re-join at once.
      setTimeout(() => {
        if (target.refs > 0 || this.rooms.get(name) !== target) return;
        if (target.outbox.size > 0) return; // never drop unsent messages
        this.transport.send({ type: "leave", room: name });
        this.rooms.delete(name);
      }, 1_000);
    };
  }

  send(roomName: string, body: string, attachments: AttachmentMeta[] = []): void {
    const room = this.rooms.get(roomName);
    const text = body.trim();
    if (!room || (!text && attachments.length === 0)) return;
    const me = this.transport.connectionSnapshot().me ?? {
      id: getSession().user?.id ?? "",
      role: getSession().user?.role ?? "",
      name: getSession().user?.full_name ?? "",
    };
    room.outbox.add(
      {
        id: newId(),
        seq: null,
        sender: me,
        body: text,
        ts: new Date().toISOString(),
        mine: true,
        status: "sending",
        ...(attachments.length > 0 ? { attachments } : {}),
      },
      room.joined,
    );
    room.emit();
  }

  /** Try a failed message again, with the same id. */
  retry(roomName: string, id: string): void {
    const room = this.rooms.get(roomName);
    if (room && room.outbox.retry(id, room.joined)) room.emit();
  }

  /** Give up on a failed message. */
  discard(roomName: string, id: string): void {
    const room = this.rooms.get(roomName);
    if (!room) return;
    room.outbox.discard(id);
    room.emit();
  }

  notifyTyping(roomName: string): void {
    const room = this.rooms.get(roomName);
    if (!room || !room.joined) return;
    const now = Date.now();
    if (now - room.typingSentAt < TYPING_SEND_EVERY_MS) return;
    room.typingSentAt = now;
    this.transport.send({ type: "typing", room: roomName });
  }

  markRead(roomName: string, seq: number): void {
    const room = this.rooms.get(roomName);
    if (!room || !room.joined || seq <= room.readSent) return;
    if (this.transport.send({ type: "read", room: roomName, seq })) room.readSent = seq;
  }

  // ----- snapshots for React -------------------------------------------------------------

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

  connectionSnapshot(): ConnectionSnapshot {
    return this.transport.connectionSnapshot();
  }

  subscribeConnection(listener: () => void): () => void {
    return this.transport.subscribeConnection(listener);
  }

  onAppointment(listener: (appointment: Appointment) => void): () => void {
    this.appointmentListeners.add(listener);
    return () => this.appointmentListeners.delete(listener);
  }

  /** Send a video call signal to one member of a joined room; false while not connected. */
  signal(roomName: string, to: string, kind: SignalKind, data: Record<string, unknown>): boolean {
    this.signalledAt.set(roomName, Date.now());
    return this.transport.send({ type: "signal", room: roomName, to, kind, data });
  }

  onSignal(listener: (frame: SignalFrame) => void): () => void {
    this.signalListeners.add(listener);
    return () => this.signalListeners.delete(listener);
  }

  /** Refusals of this tab's signals (`not_found`: the other side is not online, ...). */
  onSignalError(listener: (room: string, code: string, message: string) => void): () => void {
    this.signalErrorListeners.add(listener);
    return () => this.signalErrorListeners.delete(listener);
  }

  onNotification(listener: (notification: NotificationItem) => void): () => void {
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  get activeUsers(): number {
    return this.users;
  }
}

/** Words for an `error` frame code. */
export function explainHubError(code: string, message: string): string {
  switch (code) {
    case "room_closed":
      return t().hub.roomClosed;
    case "rate_limited":
      return t().hub.tooFast;
    case "too_large":
      return t().hub.tooLong;
    case "forbidden":
      return t().hub.notMember;
    case "not_found":
      return t().hub.noConversation;
    case "unauthorized":
      return t().hub.sessionExpired;
    default:
      return message || t().hub.serverError;
  }
}

let singleton: HubClient | null = null;

/** The tab's one hub client. */
export function getHub(): HubClient {
  if (!singleton) {
    singleton = new HubClient();
  }
  return singleton;
}
