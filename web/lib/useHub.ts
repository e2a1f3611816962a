"use client";

/** React hooks over the tab's hub client (lib/hub.ts). */
import { useCallback, useEffect, useRef, useSyncExternalStore } from "react";

import { getHub, type ConnectionSnapshot, type RoomSnapshot } from "./hub";
import type { AttachmentMeta } from "./hub/frames";
import type { Appointment } from "./types";

const IDLE: ConnectionSnapshot = { state: "idle", me: null, retryAt: null, error: null };

/** The connection state; keeps the socket open while the calling component is mounted. */
export function useHubConnection(): ConnectionSnapshot {
  useEffect(() => getHub().acquire(), []);
  return useSyncExternalStore(
    (listener) => getHub().subscribeConnection(listener),
    () => getHub().connectionSnapshot(),
    () => IDLE,
  );
}

export interface RoomHandle {
  snapshot: RoomSnapshot | null;
  send: (body: string, attachments?: AttachmentMeta[]) => void;
  retry: (id: string) => void;
  discard: (id: string) => void;
  notifyTyping: () => void;
  markRead: (seq: number) => void;
}

/** Follow one room (`consultation:<id>`) while mounted: live messages, members, state. */
export function useRoom(room: string | null): RoomHandle {
  useEffect(() => {
    if (!room) return;
    const hub = getHub();
    const release = hub.acquire();
    const leave = hub.joinRoom(room);
    return () => {
      leave();
      release();
    };
  }, [room]);
  const snapshot = useSyncExternalStore(
    (listener) => (room ? getHub().subscribeRoomLazy(room, listener) : () => undefined),
    () => (room ? getHub().roomSnapshot(room) : null),
    () => null,
  );
  const send = useCallback(
    (body: string, attachments?: AttachmentMeta[]) => room && getHub().send(room, body, attachments),
    [room],
  );
  const retry = useCallback((id: string) => room && getHub().retry(room, id), [room]);
  const discard = useCallback((id: string) => room && getHub().discard(room, id), [room]);
  const notifyTyping = useCallback(() => room && getHub().notifyTyping(room), [room]);
  const markRead = useCallback((seq: number) => room && getHub().markRead(room, seq), [room]);
  return { snapshot, send, retry, discard, notifyTyping, markRead };
}

/** Call `handler` with every `appointment` frame pushed to this user's private room. */
export function useAppointmentEvents(handler: (appointment: Appointment) => void): void {
  const ref = useRef(handler);
  useEffect(() => {
    ref.current = handler;
  }, [handler]);
  useEffect(() => {
    const hub = getHub();
    const release = hub.acquire();
    const off = hub.onAppointment((appointment) => ref.current(appointment));
    return () => {
      off();
      release();
    };
  }, []);
}
