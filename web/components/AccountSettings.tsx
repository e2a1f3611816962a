"use client";

/**
 * The settings page (/account): a list of sections, each its own component. Add a section by
 * adding it to SECTIONS.
 */
import Link from "next/link";
import { useState, type FormEvent } from "react";

import { api, paths, updateSessionUser } from "@/lib/api";
import { check, fieldError, rules } from "@/lib/problems";
import { SECURITY_PAGE, useRequireUser } from "@/lib/session";
import type { User } from "@/lib/types";

import { NotificationPreferences } from "./NotificationPreferences";
import { passwordProblem } from "./Recovery";
import { TimeZoneSelect } from "./TimeZoneSelect";
import { buttonClass, ErrorMessage, Loading, Section, TextField } from "./ui";

function Saved({ text }: { text: string | null }) {
  return text ? (
    <p role="status" className="text-sm text-green-900" data-testid="saved">
      {text}
    </p>
  ) : null;
}

function ProfileSection({ user }: { user: User }) {
  const [name, setName] = useState(user.full_name);
  const [zone, setZone] = useState(user.timezone || "UTC");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const invalid = check([rules.required("full_name", name, "your full name")]);
    setError(invalid);
    setSaved(null);
    if (invalid) return;
    setBusy(true);
    try {
      const next = await api.patch<User>(paths.me(), { full_name: name.trim(), timezone: zone });
      updateSessionUser(next);
      setSaved("Saved.");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Section id="settings-profile" title="Your profile">
      <form onSubmit={submit} noValidate className="flex flex-col gap-4">
        <p className="text-sm text-slate-700">
          Email: <span className="font-medium">{user.email}</span> {user.email_verified ? "(confirmed)" : "(not confirmed yet)"}
        </p>
        <TextField id="settings-name" label="Full name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} error={fieldError(error, "full_name")} />
        <TimeZoneSelect id="settings-timezone" value={zone} onChange={setZone} error={fieldError(error, "timezone")} />
        <ErrorMessage error={error} inline={["full_name", "timezone"]} />
        <Saved text={saved} />
        <button type="submit" className={buttonClass("primary")} disabled={busy} data-testid="settings-profile-save">
          {busy ? "Saving…" : "Save profile"}
        </button>
      </form>
    </Section>
  );
}

function PasswordSection() {
  const [current, setCurrent] = useState("");
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [problems, setProblems] = useState<{ password?: string; again?: string }>({});
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found = passwordProblem(password, again);
    setProblems(found);
    setSaved(null);
    if (found.password || found.again) return;
    setBusy(true);
    setError(null);
    try {
      await api.post<void>(paths.myPassword(), { current_password: current, new_password: password });
      setCurrent("");
      setPassword("");
      setAgain("");
      setSaved("Password changed. Your other sessions were signed out.");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Section id="settings-password" title="Password">
      <form onSubmit={submit} noValidate className="flex flex-col gap-4">
        <TextField id="settings-current-password" label="Current password" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} error={fieldError(error, "current_password")} />
        <TextField id="settings-new-password" label="New password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} error={problems.password ?? fieldError(error, "new_password")} />
        <TextField id="settings-new-password-again" label="New password again" type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} error={problems.again} />
        <ErrorMessage error={error} inline={["current_password", "new_password"]} />
        <Saved text={saved} />
        <button type="submit" className={buttonClass("primary")} disabled={busy} data-testid="settings-password-save">
          {busy ? "Changing…" : "Change password"}
        </button>
      </form>
    </Section>
  );
}

function SecuritySection() {
  return (
    <Section id="settings-security" title="Two-step sign-in">
      <p className="text-sm text-slate-700">
        Protect your account with a code from an authenticator app.{" "}
        <Link href={SECURITY_PAGE} className="font-semibold text-blue-800 underline" data-testid="settings-mfa-link">
          Manage two-step sign-in
        </Link>
      </p>
    </Section>
  );
}

/** The sections of the settings page, in order. */
const SECTIONS: ((props: { user: User }) => React.ReactNode)[] = [
  ProfileSection,
  PasswordSection,
  SecuritySection,
  NotificationPreferences,
];

export function AccountSettings() {
  const { user } = useRequireUser();
  if (!user) return <Loading />;
  return (
    <div className="mx-auto flex max-w-2xl flex-col gap-6" data-testid="account-settings">
      <h1 className="text-2xl font-bold">Account settings</h1>
      {SECTIONS.map((Part, i) => (
        <Part key={i} user={user} />
      ))}
    </div>
  );
}
