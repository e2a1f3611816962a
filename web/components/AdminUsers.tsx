"use client";

/** The admin's user accounts: disable or re-enable one, or mail it a password reset link. */
import { useState } from "react";

import { api, paths } from "@/lib/api";
import type { Accepted, Page, User } from "@/lib/types";
import { useApi } from "@/lib/useApi";

import { SkeletonRows } from "./ListStates";
import { buttonClass, ErrorMessage, Section } from "./ui";
import { useMessages } from "@/lib/i18n";

type Action = "enable" | "disable" | "password-reset";

export function AdminUsers({ selfId }: { selfId: string }) {
  const t = useMessages();
  const [cursor, setCursor] = useState<string | null>(null);
  const page = useApi<Page<User>>(paths.adminUsers({ limit: 50, cursor }));
  const setPage = page.setData;
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const people = (page.data?.items ?? []).filter((u) => u.role !== "bot");

  async function act(user: User, action: Action) {
    setBusy(user.id);
    setError(null);
    setNotice(null);
    try {
      if (action === "password-reset") {
        await api.post<Accepted>(paths.adminUserAction(user.id, action));
        setNotice(`A password reset link was mailed to ${user.full_name} (${user.email}).`);
      } else {
        const next = await api.post<User>(paths.adminUserAction(user.id, action));
        setPage((current) => (current ? { ...current, items: current.items.map((u) => (u.id === next.id ? next : u)) } : current));
        setNotice(`${action === "enable" ? "Enabled" : "Disabled"} ${user.full_name}.`);
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  }

  return (
    <Section id="admin-users" title={t.adminUsers.userAccounts}>
      {notice ? (
        <p role="status" data-testid="users-notice" className="mb-3 rounded-md border border-green-300 bg-green-50 p-3 text-sm text-green-900">
          {notice}
        </p>
      ) : null}
      <ErrorMessage error={error ?? page.error} />
      {page.loading ? <SkeletonRows count={3} className="h-16" label={t.adminUsers.loadingTheAccounts} /> : null}
      <ul className="flex flex-col gap-2" data-testid="users-list">
        {people.map((user) => (
          <li key={user.id} data-testid="user-row" data-user-email={user.email} className="flex flex-col gap-2 rounded-md border border-slate-200 p-3 sm:flex-row sm:items-center sm:justify-between">
            <div className="min-w-0 text-sm">
              <p className="font-semibold text-slate-900">
                {user.full_name} <span className="font-normal text-slate-700">({user.role})</span>
              </p>
              <p className="break-all text-slate-800">{user.email}</p>
              <p className="text-slate-700" data-testid="user-state">
                {user.disabled ? t.adminUsers.disabled : t.adminUsers.active}{t.adminUsers.email}{user.email_verified ? t.adminUsers.confirmed : t.adminUsers.notConfirmed}
              </p>
            </div>
            {user.id === selfId ? (
              <p className="text-sm text-slate-700">{t.adminUsers.thisIsYou}</p>
            ) : (
              <div className="flex flex-wrap gap-2">
                {user.disabled ? (
                  <button type="button" className={buttonClass("primary")} disabled={busy !== null} onClick={() => act(user, "enable")} aria-label={t.adminUsers.enableName(user.full_name)} data-testid="user-enable">
                    {t.adminUsers.enable}
                  </button>
                ) : (
                  <>
                    <button type="button" className={buttonClass("secondary")} disabled={busy !== null} onClick={() => act(user, "password-reset")} aria-label={t.adminUsers.sendResetName(user.full_name)} data-testid="user-reset">
                      {t.adminUsers.sendPasswordReset}
                    </button>
                    <button type="button" className={buttonClass("danger")} disabled={busy !== null} onClick={() => act(user, "disable")} aria-label={t.adminUsers.disableName(user.full_name)} data-testid="user-disable">
                      {t.adminUsers.disable}
                    </button>
                  </>
                )}
              </div>
            )}
          </li>
        ))}
      </ul>
      {page.data?.next_cursor ? (
        <button type="button" className={buttonClass("secondary", "mt-3")} disabled={page.loading} onClick={() => setCursor(page.data?.next_cursor ?? null)} data-testid="users-more">
          {t.adminUsers.showTheNextAccounts}
        </button>
      ) : null}
    </Section>
  );
}
