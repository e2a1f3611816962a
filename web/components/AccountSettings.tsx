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
import { useMessages } from "@/lib/i18n";

function Saved({ text }: { text: string | null }) {
  return text ? (
    <p role="status" className="text-sm text-green-900" data-testid="saved">
      {text}
    </p>
  ) : null;
}

function ProfileSection({ user }: { user: User }) {
  const t = useMessages();
  const [name, setName] = useState(user.full_name);
  const [zone, setZone] = useState(user.timezone || "UTC");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const invalid = check([rules.required("full_name", name, t.problems.yourFullName)]);
    setError(invalid);
    setSaved(null);
    if (invalid) return;
    setBusy(true);
    try {
      const next = await api.patch<User>(paths.me(), { full_name: name.trim(), timezone: zone });
      updateSessionUser(next);
      setSaved(t.accountSettings.saved);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Section id="settings-profile" title={t.accountSettings.yourProfile}>
      <form onSubmit={submit} noValidate className="flex flex-col gap-4">
        <p className="text-sm text-slate-700">
          {t.accountSettings.email}<span className="font-medium">{user.email}</span> {user.email_verified ? t.accountSettings.confirmed : t.accountSettings.notConfirmedYet}
        </p>
        <TextField id="settings-name" label={t.accountSettings.fullName} autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} error={fieldError(error, "full_name")} />
        <TimeZoneSelect id="settings-timezone" value={zone} onChange={setZone} error={fieldError(error, "timezone")} />
        <ErrorMessage error={error} inline={["full_name", "timezone"]} />
        <Saved text={saved} />
        <button type="submit" className={buttonClass("primary")} disabled={busy} data-testid="settings-profile-save">
          {busy ? t.accountSettings.saving : t.accountSettings.saveProfile}
        </button>
      </form>
    </Section>
  );
}

function PasswordSection() {
  const t = useMessages();
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
      setSaved(t.accountSettings.passwordChanged);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Section id="settings-password" title={t.accountSettings.password}>
      <form onSubmit={submit} noValidate className="flex flex-col gap-4">
        <TextField id="settings-current-password" label={t.accountSettings.currentPassword} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} error={fieldError(error, "current_password")} />
        <TextField id="settings-new-password" label={t.accountSettings.newPassword} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} error={problems.password ?? fieldError(error, "new_password")} />
        <TextField id="settings-new-password-again" label={t.accountSettings.newPasswordAgain} type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} error={problems.again} />
        <ErrorMessage error={error} inline={["current_password", "new_password"]} />
        <Saved text={saved} />
        <button type="submit" className={buttonClass("primary")} disabled={busy} data-testid="settings-password-save">
          {busy ? t.accountSettings.changing : t.accountSettings.changePassword}
        </button>
      </form>
    </Section>
  );
}

function SecuritySection() {
  const t = useMessages();
  return (
    <Section id="settings-security" title={t.accountSettings.twoStepSignIn}>
      <p className="text-sm text-slate-700">
        {t.accountSettings.protectYourAccountWith}{" "}
        <Link href={SECURITY_PAGE} className="font-semibold text-blue-800 underline" data-testid="settings-mfa-link">
          {t.accountSettings.manageTwoStepSign}
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
  const t = useMessages();
  const { user } = useRequireUser();
  if (!user) return <Loading />;
  return (
    <div className="mx-auto flex max-w-2xl flex-col gap-6" data-testid="account-settings">
      <h1 className="text-2xl font-bold">{t.accountSettings.accountSettings}</h1>
      {SECTIONS.map((Part, i) => (
        <Part key={i} user={user} />
      ))}
    </div>
  );
}
