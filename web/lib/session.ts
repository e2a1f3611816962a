"use client";

/** React access to the session held by lib/api.ts, and page guards by role. */
import { useRouter } from "next/navigation";
import { useEffect, useSyncExternalStore } from "react";

import { getSession, restoreSession, subscribeSession, type SessionSnapshot } from "./api";
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

/** A same-site path to return to after signing in, or null. */
export function safeNext(value: string | null): string | null {
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.includes("\\")) return null;
  return value;
}

/**
 * The signed-in user if they may see this page. Sends anonymous visitors to /login (remembering
 * where they were going) and people of another role to their own dashboard.
 */
export function useRequireUser(roles?: Role[]): { user: User | null; session: SessionSnapshot } {
  const session = useSession();
  const router = useRouter();
  const allowed = session.user !== null && (!roles || roles.includes(session.user.role));
  useEffect(() => {
    if (session.status === "anonymous") {
      const here = window.location.pathname + window.location.search;
      router.replace(`/login?next=${encodeURIComponent(here)}`);
    } else if (session.status === "authenticated" && !allowed) {
      router.replace(dashboardFor(session.user));
    }
  }, [session.status, session.user, allowed, router]);
  return { user: allowed ? session.user : null, session };
}
