"use client";

/**
 * The header around every page: brand, the main links (a "Menu" on a phone, so the header stays
 * one row at 390 px), the bell, sign out.
 */
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState, type ReactNode } from "react";

import { logout } from "@/lib/api";
import { dashboardFor, useSession } from "@/lib/session";

import { DoctorInWaitingRooms } from "./DoctorWaiting";
import { VerifyEmailBanner } from "./Recovery";
import { buttonClass, ErrorMessage } from "./ui";
import { NotificationBell } from "./NotificationBell";
import { useMessages } from "@/lib/i18n";

export function AppShell({ children }: { children: ReactNode }) {
  const t = useMessages();
  const session = useSession();
  const router = useRouter();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);
  const user = session.user;

  // The phone menu closes on Escape, like any disclosure.
  useEffect(() => {
    if (!menuOpen) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") setMenuOpen(false);
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [menuOpen]);

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
        <div className="relative mx-auto flex max-w-6xl flex-nowrap items-center justify-between gap-2 px-4 py-2">
          <Link href={user ? dashboardFor(user) : "/login"} className="shrink-0 text-lg font-bold text-blue-800" data-testid="brand">
            {t.appShell.careconnect}<span className="hidden min-[420px]:inline">{t.appShell.live}</span>
          </Link>
          {user ? (
            <div className="flex items-center gap-1 sm:gap-2">
              <nav
                aria-label={t.appShell.main}
                id="main-nav"
                className={`${menuOpen ? "flex" : "hidden"} absolute inset-x-0 top-full z-30 flex-col items-stretch gap-1 border-b border-slate-200 bg-white p-2 shadow-lg sm:static sm:flex sm:flex-row sm:items-center sm:gap-2 sm:border-0 sm:p-0 sm:shadow-none text-sm`}
                onClick={(e) => {
                  if ((e.target as HTMLElement).closest("a")) setMenuOpen(false);
                }}
              >
                <Link href={dashboardFor(user)} className={buttonClass("ghost", "justify-start")} data-testid="nav-dashboard">
                  {t.appShell.dashboard}
                </Link>
                {user.role === "doctor" ? (
                  <Link href="/doctor/availability" className={buttonClass("ghost", "justify-start")} data-testid="nav-availability">
                    {t.appShell.availability}
                  </Link>
                ) : null}
                <Link href="/account" className={buttonClass("ghost", "justify-start")} data-testid="nav-account">
                  {t.appShell.settings}
                </Link>
                <Link href="/account/security" className={buttonClass("ghost", "justify-start")} data-testid="nav-security">
                  {t.appShell.security}
                </Link>
                <span className="hidden text-slate-700 lg:inline" data-testid="nav-user">
                  {user.full_name} ({user.role})
                </span>
                <button type="button" onClick={signOut} disabled={busy} className={buttonClass("secondary")} data-testid="logout">
                  {t.appShell.signOut}
                </button>
              </nav>
              <NotificationBell />
              <button
                type="button"
                className={buttonClass("secondary", "px-3 sm:hidden")}
                aria-expanded={menuOpen}
                aria-controls="main-nav"
                onClick={() => setMenuOpen((open) => !open)}
                data-testid="nav-menu"
              >
                {t.appShell.menu}
              </button>
            </div>
          ) : session.status === "anonymous" ? (
            <nav aria-label={t.appShell.main} className="flex items-center gap-1 text-sm">
              <Link href="/login" className={buttonClass("ghost", "whitespace-nowrap px-2 sm:px-4")}>
                {t.appShell.signIn}
              </Link>
              <Link href="/register" className={buttonClass("ghost", "whitespace-nowrap px-2 sm:px-4")}>
                <span className="sm:hidden">{t.appShell.register}</span>
                <span className="hidden sm:inline">{t.appShell.createAnAccount}</span>
              </Link>
            </nav>
          ) : null}
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
