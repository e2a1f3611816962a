"use client";

/**
 * Drafts: what a person was typing (the intake form, the doctor's notes, an unsent chat
 * message), kept in this tab's sessionStorage as they type, so a session that expires or ends
 * in another tab loses nothing: after signing in again the same form shows the same text.
 *
 * A draft belongs to the user who wrote it (another person signing in on this tab never sees
 * it) and goes away once the text is saved or sent. Storage may be full or switched off: then
 * drafts are simply not kept.
 */
import { useCallback, useEffect, useRef, useState } from "react";

import { getSession } from "./api";

const PREFIX = "cc-draft:";

interface Stored<T> {
  user: string;
  value: T;
}

function storage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.sessionStorage;
  } catch {
    return null;
  }
}

function currentUser(): string | null {
  return getSession().user?.id ?? null;
}

/** The draft saved under `key` by the signed-in user, or null. */
export function loadDraft<T>(key: string): T | null {
  const user = currentUser();
  const raw = user ? storage()?.getItem(PREFIX + key) : null;
  if (!raw) return null;
  try {
    const stored = JSON.parse(raw) as Stored<T>;
    return stored.user === user ? stored.value : null;
  } catch {
    return null;
  }
}

export function saveDraft<T>(key: string, value: T): void {
  const user = currentUser();
  if (!user) return;
  try {
    storage()?.setItem(PREFIX + key, JSON.stringify({ user, value } satisfies Stored<T>));
  } catch {
    // Full or refused: the draft is only not kept.
  }
}

export function clearDraft(key: string): void {
  try {
    storage()?.removeItem(PREFIX + key);
  } catch {
    // Nothing to clear.
  }
}

/**
 * `useState` for a text the person is writing, kept as a draft under `key` (null: not kept).
 * Returns the value, its setter and `clear` (call it once the text is saved or sent).
 */
export function useDraft(key: string | null, initial = ""): [string, (value: string) => void, () => void] {
  const [value, setValue] = useState(() => (key ? (loadDraft<string>(key) ?? initial) : initial));
  const keyRef = useRef(key);
  useEffect(() => {
    if (keyRef.current === key) return;
    keyRef.current = key;
    setValue(key ? (loadDraft<string>(key) ?? initial) : initial);
  }, [key, initial]);
  const set = useCallback(
    (next: string) => {
      setValue(next);
      if (!key) return;
      if (next) saveDraft(key, next);
      else clearDraft(key);
    },
    [key],
  );
  const clear = useCallback(() => {
    setValue("");
    if (key) clearDraft(key);
  }, [key]);
  return [value, set, clear];
}
