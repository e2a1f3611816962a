/**
 * The hub's frames (PROTOCOL.md; the server's `careconnect.hub.protocol`), as unions on `type`.
 *
 * Frames arrive from the network, so the room state still checks each field it reads; these
 * types say what a well-behaved server sends and let `switch (frame.type)` narrow.
 */
import type { Appointment, NotificationItem } from "../types";

export interface Person {
  id: string;
  role: string;
  name: string;
}

export interface Member extends Person {
  online: boolean;
}

// ----- server to client ----------------------------------------------------------------------

export interface WelcomeFrame {
  type: "welcome";
  user: Person;
  session: string;
  heartbeat_s: number;
  server_time: string;
}

export interface JoinedFrame {
  type: "joined";
  room: string;
  last_seq: number;
  state: string | null;
  members: Member[];
}

export interface MessageFrame {
  type: "message";
  room: string;
  seq: number;
  id: string;
  sender: Person;
  body: string;
  ts: string;
  /** "text", or "call" for a video call's start and end (PROTOCOL.md 1.1). */
  kind?: string;
  /** PROTOCOL.md 1.1: the files the message carries (absent when none). */
  attachments?: AttachmentMeta[];
}

/** A file in a `message` frame (API.md 1.1 "Attachments"). */
export interface AttachmentMeta {
  id: string;
  filename: string;
  content_type: string;
  size: number;
  width?: number;
  height?: number;
}

export interface AckFrame {
  type: "ack";
  id: string;
  room: string;
  seq: number;
  ts: string;
}

export interface TypingFrame {
  type: "typing";
  room: string;
  user: string;
}

export interface ReadFrame {
  type: "read";
  room: string;
  user: string;
  seq: number;
}

export interface PresenceFrame {
  type: "presence";
  room: string;
  user: Person;
  online: boolean;
}

export interface RoomStateFrame {
  type: "room_state";
  room: string;
  state: string;
}

export interface AppointmentFrame {
  type: "appointment";
  appointment: Appointment;
}

export interface NotificationFrame {
  type: "notification";
  notification: NotificationItem;
}

export interface ErrorFrame {
  type: "error";
  code: string;
  message: string;
  ref?: string | null;
  room?: string | null;
}

/** A video call's signalling from one member (PROTOCOL.md 1.1, never stored). */
export interface SignalFrame {
  type: "signal";
  room: string;
  from: Person;
  kind: SignalKind;
  data: Record<string, unknown>;
}

export type SignalKind = "ring" | "offer" | "answer" | "ice" | "hangup";

export interface PingFrame {
  type: "ping";
}

export interface PongFrame {
  type: "pong";
}

export type ServerFrame =
  | WelcomeFrame
  | JoinedFrame
  | MessageFrame
  | AckFrame
  | TypingFrame
  | ReadFrame
  | PresenceFrame
  | RoomStateFrame
  | AppointmentFrame
  | NotificationFrame
  | ErrorFrame
  | SignalFrame
  | PingFrame
  | PongFrame;

// ----- client to server ----------------------------------------------------------------------

export type ClientFrame =
  | { type: "hello"; token: string; client: string }
  | { type: "join"; room: string; since?: number }
  | { type: "leave"; room: string }
  | { type: "send"; room: string; id: string; body: string; attachments?: string[] }
  | { type: "typing"; room: string }
  | { type: "read"; room: string; seq: number }
  | { type: "refresh"; token: string }
  | { type: "signal"; room: string; to: string; kind: SignalKind; data: Record<string, unknown> }
  | PingFrame
  | PongFrame;

/** A text frame parsed, or null when it is not a JSON object with a string `type`. */
export function parseServerFrame(data: string): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  return value as ServerFrame;
}
