"use client";

/**
 * How the chat lays out its messages: links in a message body, day separators, and which
 * messages run together (the same sender within a few minutes shows one name and time).
 *
 * A body is text and stays text: only http and https addresses become links (never
 * `javascript:`, `data:` or any other scheme), they open in a new tab with
 * `rel="noopener noreferrer"`, and nothing in a body is ever read as HTML.
 */
import type { ChatMessage } from "@/lib/hub";
import { formatDay, localDateKey } from "@/lib/format";

const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"']+/giu;
// Punctuation that usually ends a sentence rather than a link ("see https://x.org.").
const TRAILING = /[).,;:!?\]}>'"]+$/u;
const GROUP_GAP_MS = 5 * 60_000;

/** A safe link target, or null: an absolute http(s) URL with a host. */
export function safeHref(candidate: string): string | null {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) return null;
  return url.href;
}

export type Piece = { text: string; href?: string };

/** Split a body into plain text and links. */
export function linkPieces(body: string): Piece[] {
  const pieces: Piece[] = [];
  let last = 0;
  for (const match of body.matchAll(URL_IN_TEXT)) {
    const start = match.index ?? 0;
    let raw = match[0];
    const trailing = TRAILING.exec(raw);
    if (trailing) raw = raw.slice(0, raw.length - trailing[0].length);
    const href = raw ? safeHref(raw) : null;
    if (!href) continue;
    if (start > last) pieces.push({ text: body.slice(last, start) });
    pieces.push({ text: raw, href });
    last = start + raw.length;
  }
  if (last < body.length) pieces.push({ text: body.slice(last) });
  return pieces;
}

/** A message body with its http(s) addresses as links. */
export function MessageText({ body, mine }: { body: string; mine: boolean }) {
  return (
    <>
      {linkPieces(body).map((piece, i) =>
        piece.href ? (
          <a
            key={i}
            href={piece.href}
            target="_blank"
            rel="noopener noreferrer"
            className={`break-all underline ${mine ? "text-white" : "text-blue-800"}`}
            data-testid="chat-link"
          >
            {piece.text}
          </a>
        ) : (
          <span key={i}>{piece.text}</span>
        ),
      )}
    </>
  );
}

export interface LaidOut {
  message: ChatMessage;
  /** The day heading to show before this message (its first of a day), or null. */
  day: string | null;
  /** Continues the previous message's group: same sender, same day, within five minutes. */
  continues: boolean;
}

/** Day separators and groups for messages in display order. */
export function layOut(messages: ChatMessage[], timeZone: string): LaidOut[] {
  const out: LaidOut[] = [];
  let prev: ChatMessage | null = null;
  let prevDay: string | null = null;
  for (const message of messages) {
    const key: string | null = message.ts ? localDateKey(message.ts, timeZone) : prevDay;
    const day = key !== null && key !== prevDay && message.ts ? formatDay(message.ts, timeZone) : null;
    const close =
      prev !== null && message.ts !== null && prev.ts !== null && Date.parse(message.ts) - Date.parse(prev.ts) < GROUP_GAP_MS;
    const continues = prev !== null && day === null && prev.sender.id === message.sender.id && (close || message.ts === null);
    out.push({ message, day, continues });
    prev = message;
    prevDay = key;
  }
  return out;
}

/** The seq of the newest message of mine that another member has read (where "Seen" goes). */
export function seenSeq(messages: ChatMessage[], reads: Record<string, number>, otherIds: string[]): number | null {
  const readUpTo = Math.max(0, ...otherIds.map((id) => reads[id] ?? 0));
  let seen: number | null = null;
  for (const m of messages) if (m.mine && m.seq !== null && m.seq <= readUpTo) seen = m.seq;
  return seen;
}
