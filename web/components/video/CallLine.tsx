import type { ChatMessage } from "@/lib/hub";
import { formatTime } from "@/lib/format";

/** A video call's start or end in the conversation (a `kind: "call"` message), as a line of its own. */
export function CallLine({ message, timeZone }: { message: ChatMessage; timeZone: string }) {
  return (
    <li
      className="flex items-center gap-2 self-center rounded-full bg-slate-100 px-3 py-1 text-xs text-slate-800"
      data-testid="chat-call-line"
      data-seq={message.seq ?? ""}
      data-id={message.id}
    >
      <span aria-hidden="true">📹</span>
      <span data-testid="chat-call-body">{message.body}</span>
      {message.ts ? <time dateTime={message.ts}>{formatTime(message.ts, timeZone)}</time> : null}
    </li>
  );
}
