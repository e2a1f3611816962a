"use client";

/** The header (brand, the dashboard link, who is signed in, sign out) around every page. */
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, type ReactNode } from "react";

import { logout } from "@/lib/api";
import { dashboardFor, useSession } from "@/lib/session";

import { DoctorInWaitingRooms } from "./DoctorWaiting";
import { VerifyEmailBanner } from "./Recovery";
import { buttonClass, ErrorMessage } from "./ui";
import { NotificationBell } from "./NotificationBell";

export function AppShell({ children }: { children: ReactNode }) {
  const session = useSession();
  const router = useRouter();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const user = session.user;

  async function signOut() {
    setBusy(true);
    setError(null);
    try {
      await logout();
      router.replace("/login");
    } catch (e) {
      // The session is cleared here anyway; say that the server could not be told.
      setError(e);
      router.replace("/login");
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-2 px-4 py-2">
          <Link href={user ? dashboardFor(user) : "/login"} className="text-lg font-bold text-blue-800" data-testid="brand">
            CareConnect Live
          </Link>
          <nav aria-label="Main" className="flex flex-wrap items-center gap-2 text-sm">
            {user ? (
              <>
                <Link href={dashboardFor(user)} className={buttonClass("ghost")} data-testid="nav-dashboard">
                  Dashboard
                </Link>
                <Link href="/account" className={buttonClass("ghost")} data-testid="nav-account">
                  Settings
                </Link>
                <NotificationBell />
                <Link href="/account/security" className={buttonClass("ghost")} data-testid="nav-security">
                  Security
                </Link>
                <span className="hidden text-slate-700 sm:inline" data-testid="nav-user">
                  {user.full_name} ({user.role})
                </span>
                <button type="button" onClick={signOut} disabled={busy} className={buttonClass("secondary")} data-testid="logout">
                  Sign out
                </button>
              </>
            ) : session.status === "anonymous" ? (
              <>
                <Link href="/login" className={buttonClass("ghost")}>
                  Sign in
                </Link>
                <Link href="/register" className={buttonClass("ghost")}>
                  Create an account
                </Link>
              </>
            ) : null}
          </nav>
        </div>
      </header>
      {user ? <VerifyEmailBanner key={user.id} user={user} /> : null}
      {user?.role === "doctor" ? <DoctorInWaitingRooms key={user.id} /> : null}
      {error ? (
        <div className="mx-auto max-w-6xl px-4 pt-2">
          <ErrorMessage error={error} />
        </div>
      ) : null}
      <main id="main" tabIndex={-1} className="mx-auto w-full max-w-6xl px-4 py-4 focus:outline-none sm:py-6">
        {children}
      </main>
    </>
  );
}
