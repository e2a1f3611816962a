"use client";

/** React access to the session held by lib/api.ts, and page guards by role. */
import { useRouter } from "next/navigation";
import { useEffect, useState, useSyncExternalStore } from "react";

import { getSession, mfaStatus, restoreSession, subscribeSession, type SessionSnapshot } from "./api";
import type { Role, User } from "./types";

const LOADING: SessionSnapshot = { status: "loading", user: null, endedReason: null };

export function useSession(): SessionSnapshot {
  useEffect(() => {
    void restoreSession();
  }, []);
  return useSyncExternalStore(subscribeSession, getSession, () => LOADING);
}

export function dashboardFor(user: User | null): string {
  if (!user) return "/login";
  if (user.role === "doctor") return "/doctor/dashboard";
  if (user.role === "patient") return "/patient/dashboard";
  if (user.role === "admin") return "/admin";
  return "/login";
}

/** Where a person whose role requires a second factor, and who has none yet, sets one up. */
export const SECURITY_PAGE = "/account/security";

// Control characters (C0, DEL, C1), any white space and backslashes: browsers drop or reinterpret
// them in URLs ("/\t/evil.example" becomes "//evil.example"), so a path holding one is refused.
const UNSAFE_IN_NEXT = /[\u0000-\u001f\u007f-\u009f\s\\]/u;

/**
 * A path on this site to return to after signing in, or null. Only a relative path that starts
 * with a single "/" (not "//" or "/\"), holds no control character, white space or backslash,
 * and still resolves to this origin; the answer is that resolved path, search and hash.
 */
export function safeNext(value: string | null, origin: string = window.location.origin): string | null {
  if (!value || !value.startsWith("/") || value.startsWith("//") || UNSAFE_IN_NEXT.test(value)) return null;
  let url: URL;
  try {
    url = new URL(value, origin);
  } catch {
    return null;
  }
  if (url.origin !== origin) return null;
  return url.pathname + url.search + url.hash;
}

/**
 * The signed-in user if they may see this page. Sends anonymous visitors to /login (remembering
 * where they were going), people of another role to their own dashboard, and people whose role
 * must use a second factor and who have none to the security page (unless this is that page).
 */
export function useRequireUser(
  roles?: Role[],
  options: { enrolmentPage?: boolean } = {},
): { user: User | null; session: SessionSnapshot } {
  const session = useSession();
  const router = useRouter();
  const allowed = session.user !== null && (!roles || roles.includes(session.user.role));
  const [factorChecked, setFactorChecked] = useState<string | null>(null);
  const userId = session.user?.id ?? null;
  const enrolmentPage = options.enrolmentPage ?? false;
  useEffect(() => {
    if (session.status === "anonymous") {
      const here = window.location.pathname + window.location.search;
      router.replace(`/login?next=${encodeURIComponent(here)}`);
    } else if (session.status === "authenticated" && !allowed) {
      router.replace(dashboardFor(session.user));
    }
  }, [session.status, session.user, allowed, router]);
  useEffect(() => {
    if (!allowed || !userId || enrolmentPage) return;
    let live = true;
    mfaStatus(userId)
      .then((status) => {
        if (!live) return;
        if (status.required && !status.enabled) {
          const here = window.location.pathname + window.location.search;
          router.replace(`${SECURITY_PAGE}?next=${encodeURIComponent(here)}`);
        } else {
          setFactorChecked(userId);
        }
      })
      .catch(() => {
        if (live) setFactorChecked(userId); // the page's own requests will show the error
      });
    return () => {
      live = false;
    };
  }, [allowed, userId, enrolmentPage, router]);
  const ready = allowed && (enrolmentPage || factorChecked === userId);
  return { user: ready ? session.user : null, session };
}
