"use client";

import { useEffect, useRef, type FormEvent, type KeyboardEvent } from "react";

import { useDraft } from "@/lib/drafts";
import type { ChatMessage, ConnectionSnapshot } from "@/lib/hub";
import { formatTime } from "@/lib/format";
import type { RoomHandle } from "@/lib/useHub";

import { AttachmentPicker } from "./attachments/AttachmentPicker";
import { MessageAttachments } from "./attachments/MessageAttachments";
import { usePendingFiles } from "./attachments/usePendingFiles";
import { layOut, MessageText, seenSeq } from "./ChatText";
import { ConnectionBadge } from "./ConnectionBadge";
import { CallLine } from "./video/CallLine";
import { buttonClass } from "./ui";
import { CHAT_ALERT } from "./NotificationBell";
import { useMessages } from "@/lib/i18n";

const MAX_BODY = 4000;

/**
 * The live conversation: messages in order, who is here, who is typing, read receipts, the
 * connection state, and a composer whose messages show "sending / sent / failed".
 */
export function ChatWindow({
  room,
  connection,
  myId,
  timeZone,
  writable,
  closedReason,
}: {
  room: RoomHandle;
  connection: ConnectionSnapshot;
  myId: string;
  timeZone: string;
  writable: boolean;
  closedReason?: string;
}) {
  const t = useMessages();
  const snapshot = room.snapshot;
  const messages = snapshot?.messages ?? [];
  const members = snapshot?.members ?? [];
  const others = members.filter((m) => m.id !== myId);
  // The unsent message survives a reload or an ended session (lib/drafts.ts).
  const [draft, setDraft, clearDraft] = useDraft(snapshot ? `chat:${snapshot.room}` : null);
  const files = usePendingFiles(snapshot?.room.replace("consultation:", "") ?? null);
  const listRef = useRef<HTMLDivElement>(null);
  const lastSeq = snapshot?.lastSeq ?? 0;
  const { markRead } = room;

  // A message from someone else while this tab is hidden: the bell's title badge, sound and
  // desktop notification (a chat message is not a stored notification).
  const newest = messages.length > 0 ? messages[messages.length - 1] : undefined;
  useEffect(() => {
    if (!newest || newest.sender.id === myId || document.visibilityState !== "hidden") return;
    window.dispatchEvent(
      new CustomEvent(CHAT_ALERT, { detail: { title: t.chatWindow.newMessageFrom(newest.sender.name), body: "" } }),
    );
  }, [newest, myId, t]);

  // Keep the newest message in view, and tell the others what this person has read.
  useEffect(() => {
    const list = listRef.current;
    if (list) list.scrollTop = list.scrollHeight;
  }, [messages.length]);
  useEffect(() => {
    if (lastSeq <= 0) return;
    const mark = () => {
      if (document.visibilityState === "visible") markRead(lastSeq);
    };
    mark();
    document.addEventListener("visibilitychange", mark);
    return () => document.removeEventListener("visibilitychange", mark);
  }, [lastSeq, markRead, snapshot?.joined]);

  function submit(event?: FormEvent) {
    event?.preventDefault();
    const body = draft.trim();
    if ((!body && files.ready.length === 0) || !writable || files.busy) return;
    room.send(body.slice(0, MAX_BODY), files.ready);
    clearDraft();
    files.clear();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  // One "Seen" under the newest of my messages another member has read.
  const seen = seenSeq(messages, snapshot?.reads ?? {}, others.map((m) => m.id));

  const typing = snapshot?.typing ?? [];

  return (
    <section aria-labelledby="chat-title" className="flex min-h-[24rem] flex-col rounded-lg border border-slate-200 bg-white shadow-sm" data-testid="chat-window">
      <header className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-200 p-3">
        <h2 id="chat-title" className="text-lg font-semibold">
          {t.chatWindow.conversation}
        </h2>
        <ConnectionBadge state={connection.state} retryAt={connection.retryAt} error={connection.error} />
        <ul className="flex w-full flex-wrap gap-3 text-xs text-slate-800" aria-label={t.chatWindow.peopleInThisConversation} data-testid="presence">
          {members.map((m) => (
            <li key={m.id} className="flex items-center gap-1" data-testid="presence-member" data-online={m.online} data-user-id={m.id}>
              <span aria-hidden="true" className={`h-2 w-2 rounded-full ${m.online ? "bg-green-700" : "bg-slate-400"}`} />
              {m.id === myId ? t.chatWindow.you : m.name} ({t.chatWindow.roles[m.role] ?? m.role}): {m.online ? t.chatWindow.online : t.chatWindow.offline}
            </li>
          ))}
        </ul>
      </header>
      {snapshot?.error ? (
        <p role="alert" className="m-3 rounded-md border border-red-300 bg-red-50 p-2 text-sm text-red-900" data-testid="room-error">
          {snapshot.error}
        </p>
      ) : null}
      <div
        ref={listRef}
        role="log"
        aria-live="polite"
        aria-relevant="additions"
        aria-label={t.chatWindow.conversationHistory}
        tabIndex={0}
        className="max-h-[60vh] min-h-48 flex-1 overflow-y-auto p-3"
        data-testid="message-list"
      >
        {messages.length === 0 ? <p className="text-sm text-slate-700">{t.chatWindow.noMessagesYet}</p> : null}
        <ol className="flex flex-col">
          {layOut(messages, timeZone).map(({ message: m, day, continues }) => (
            <MessageBubble
              key={m.id}
              message={m}
              timeZone={timeZone}
              day={day}
              continues={continues}
              seen={m.seq !== null && m.seq === seen}
              onRetry={room.retry}
              onDiscard={room.discard}
            />
          ))}
        </ol>
      </div>
      <p className="min-h-6 px-3 text-xs italic text-slate-700" data-testid="typing-indicator" aria-live="polite">
        {typing.length > 0 ? t.chatWindow.typing(typing.map((person) => person.name)) : ""}
      </p>
      {writable ? (
        <form onSubmit={submit} className="flex flex-wrap items-end gap-2 border-t border-slate-200 p-3" data-testid="chat-form">
          <AttachmentPicker files={files} />
          <div className="flex flex-1 flex-col gap-1">
            <label htmlFor="chat-input" className="sr-only">
              {t.chatWindow.message}
            </label>
            <textarea
              id="chat-input"
              rows={2}
              maxLength={MAX_BODY}
              value={draft}
              placeholder={t.chatWindow.writeAMessage}
              onChange={(e) => {
                setDraft(e.target.value);
                if (e.target.value) room.notifyTyping();
              }}
              onKeyDown={onKeyDown}
              className="min-h-11 w-full resize-y rounded-md border border-slate-400 bg-white px-3 py-2 text-base"
              data-testid="chat-input"
              aria-describedby="chat-input-hint"
            />
            <p id="chat-input-hint" className="sr-only">
              {t.chatWindow.enterSendsShiftAnd}
            </p>
          </div>
          <button type="submit" className={buttonClass("primary")} disabled={(!draft.trim() && files.ready.length === 0) || files.busy} data-testid="chat-send">
            {t.chatWindow.send}
          </button>
        </form>
      ) : (
        <p className="border-t border-slate-200 p-3 text-sm text-slate-700" data-testid="chat-closed">
          {closedReason ?? t.chatWindow.thisConversationIsRead}
        </p>
      )}
    </section>
  );
}

function MessageBubble({
  message,
  timeZone,
  day,
  continues,
  seen,
  onRetry,
  onDiscard,
}: {
  message: ChatMessage;
  timeZone: string;
  /** The day heading before this message, when it is the first of its day. */
  day: string | null;
  /** Same sender as the message before, a moment later: no name and time again. */
  continues: boolean;
  /** The newest of my messages the other side has read. */
  seen: boolean;
  onRetry: (id: string) => void;
  onDiscard: (id: string) => void;
}) {
  const t = useMessages();
  const m = message;
  if (m.kind === "call") return <CallLine message={m} timeZone={timeZone} />;
  const status = m.status === "failed" ? t.chatWindow.notSent : m.status === "sending" ? t.chatWindow.sending : null;
  return (
    <>
      {day ? (
        <li className="my-2 flex items-center gap-2 text-xs font-semibold text-slate-700" data-testid="chat-day">
          <span aria-hidden="true" className="h-px flex-1 bg-slate-300" />
          {day}
          <span aria-hidden="true" className="h-px flex-1 bg-slate-300" />
        </li>
      ) : null}
    <li
      className={`flex max-w-[85%] flex-col gap-0.5 rounded-lg px-3 py-2 text-sm ${continues ? "mt-0.5" : "mt-2"} ${
        m.mine ? "self-end bg-blue-700 text-white" : "self-start bg-slate-100 text-slate-900"
      } ${m.status === "failed" ? "ring-2 ring-red-700" : ""}`}
      data-testid="chat-message"
      data-seq={m.seq ?? ""}
      data-id={m.id}
      data-mine={m.mine}
      data-status={m.status}
      data-continues={continues}
    >
      <span className={continues ? "sr-only" : `text-xs font-semibold ${m.mine ? "text-blue-50" : "text-slate-800"}`} data-testid="chat-message-header">
        {m.mine ? t.chatWindow.you : m.sender.name}
        {m.ts ? (
          <>
            {" · "}
            <time dateTime={m.ts}>{formatTime(m.ts, timeZone)}</time>
          </>
        ) : null}
      </span>
      <p className="whitespace-pre-wrap break-words" data-testid="chat-message-body">
        <MessageText body={m.body} mine={m.mine} />
      </p>
      {m.attachments ? <MessageAttachments files={m.attachments} /> : null}
      {m.mine && status ? (
        <span className="text-xs text-blue-50" data-testid="chat-message-status">
          {status}
        </span>
      ) : null}
      {m.status === "failed" ? (
        <span className="flex flex-col gap-1 rounded bg-white p-2 text-xs text-red-900">
          {m.error ? <span>{m.error}</span> : null}
          <span className="flex gap-2">
            <button type="button" className="font-semibold underline" onClick={() => onRetry(m.id)} data-testid="chat-retry">
              {t.chatWindow.tryAgain}
            </button>
            <button type="button" className="font-semibold underline" onClick={() => onDiscard(m.id)}>
              {t.chatWindow.discard}
            </button>
          </span>
        </span>
      ) : null}
    </li>
      {seen ? (
        <li className="self-end pr-1 text-xs text-slate-700" data-testid="chat-seen">
          {t.chatWindow.seen}
        </li>
      ) : null}
    </>
  );
}
