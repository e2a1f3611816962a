/**
 * The hub client: `getHub()` and the snapshots React reads (see client.ts for the guarantees).
 *
 * transport.ts: the socket, reconnect with backoff, heartbeats. room.ts: members, seq order and
 * gap detection, messages. outbox.ts: unacked sends, resent after a reconnect. frames.ts: the
 * protocol's frames as unions on `type`.
 */
export { HubClient, explainHubError, getHub } from "./client";
export type { AttachmentMeta, ClientFrame, Member, Person, ServerFrame, SignalFrame, SignalKind } from "./frames";
export type { ChatMessage, MessageStatus, RoomSnapshot } from "./room";
export type { ConnectionSnapshot, ConnectionState } from "./transport";
