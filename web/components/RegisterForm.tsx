"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";

import { api, login, paths } from "@/lib/api";
import { check, fieldError, rules } from "@/lib/problems";
import { toList } from "@/lib/format";
import { dashboardFor, useSession } from "@/lib/session";
import type { User } from "@/lib/types";

import { TimeZoneSelect, useBrowserTimeZone } from "./TimeZoneSelect";
import { buttonClass, ErrorMessage, TextArea, TextField } from "./ui";
import { useMessages } from "@/lib/i18n";

/** The fields that show their own error next to the input. */
const INLINE = ["full_name", "email", "password", "timezone", "specialty", "doctor", "bio", "languages", "license_number"];

export function RegisterForm() {
  const t = useMessages();
  const router = useRouter();
  const session = useSession();
  const browserZone = useBrowserTimeZone();
  const [role, setRole] = useState<"patient" | "doctor">("patient");
  const [fullName, setFullName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [zone, setZone] = useState<string | null>(null);
  const [specialty, setSpecialty] = useState("");
  const [bio, setBio] = useState("");
  const [languages, setLanguages] = useState("");
  const [license, setLicense] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const timezone = zone ?? browserZone;

  useEffect(() => {
    if (session.status === "authenticated") router.replace(dashboardFor(session.user));
  }, [session.status, session.user, router]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const invalid = check([
      rules.required("full_name", fullName, t.problems.yourFullName),
      email.trim() ? rules.email("email", email) : rules.required("email", email, t.problems.yourEmailAddress),
      rules.length("password", password, 10, 128, t.problems.yourPassword),
      ...(role === "doctor" ? [rules.required("doctor.specialty", specialty, t.problems.yourSpecialty)] : []),
    ]);
    setError(invalid);
    if (invalid) return;
    setBusy(true);
    const body: Record<string, unknown> = { email: email.trim(), password, full_name: fullName.trim(), role, timezone };
    if (role === "doctor") {
      body.doctor = {
        specialty,
        bio,
        languages: toList(languages),
        license_number: license.trim() || null,
      };
    }
    try {
      await api.post<User>(paths.register(), body, { auth: false });
      await login(email, password);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="mx-auto max-w-xl">
      <h1 className="mb-4 text-2xl font-bold">{t.registerForm.createAnAccount}</h1>
      <form onSubmit={submit} className="flex flex-col gap-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid="register-form" noValidate>
        <fieldset className="flex flex-col gap-2">
          <legend className="mb-1 text-sm font-medium">{t.registerForm.iAmA}</legend>
          <div className="flex flex-wrap gap-4">
            {(["patient", "doctor"] as const).map((r) => (
              <label key={r} className="flex min-h-11 items-center gap-2 text-base">
                <input
                  type="radio"
                  name="role"
                  value={r}
                  checked={role === r}
                  onChange={() => setRole(r)}
                  className="h-5 w-5"
                  data-testid={`role-${r}`}
                />
                {r === "patient" ? t.registerForm.patient : t.registerForm.doctor}
              </label>
            ))}
          </div>
        </fieldset>
        <TextField id="reg-name" label={t.registerForm.fullName} autoComplete="name" required value={fullName} onChange={(e) => setFullName(e.target.value)} error={fieldError(error, "full_name")} />
        <TextField id="reg-email" label={t.registerForm.email} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(error, "email")} />
        <TextField
          id="reg-password"
          label={t.registerForm.password}
          type="password"
          autoComplete="new-password"
          required
          minLength={10}
          maxLength={128}
          hint={t.registerForm.n10To128Characters}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fieldError(error, "password")}
        />
        <TimeZoneSelect id="reg-timezone" value={timezone} onChange={setZone} error={fieldError(error, "timezone")} />
        {role === "doctor" && (
          <fieldset className="flex flex-col gap-4 border-t border-slate-200 pt-4" data-testid="doctor-fields">
            <legend className="text-sm font-semibold">{t.registerForm.yourPractice}</legend>
            <TextField id="reg-specialty" label={t.registerForm.specialty} required value={specialty} onChange={(e) => setSpecialty(e.target.value)} error={fieldError(error, "specialty") ?? fieldError(error, "doctor")} />
            <TextArea id="reg-bio" label={t.registerForm.shortBio} rows={3} value={bio} onChange={(e) => setBio(e.target.value)} error={fieldError(error, "bio")} />
            <TextField id="reg-languages" label={t.registerForm.languages} hint={t.registerForm.separateWithCommasE} value={languages} onChange={(e) => setLanguages(e.target.value)} error={fieldError(error, "languages")} />
            <TextField id="reg-license" label={t.registerForm.licenseNumber} value={license} onChange={(e) => setLicense(e.target.value)} error={fieldError(error, "license_number")} />
          </fieldset>
        )}
        <ErrorMessage error={error} inline={INLINE} />
        <button type="submit" className={buttonClass("primary")} disabled={busy} data-testid="register-submit">
          {busy ? t.registerForm.creatingYourAccount : t.registerForm.createAccount}
        </button>
      </form>
      <p className="mt-4 text-sm text-slate-700">
        {t.registerForm.alreadyRegistered}{" "}
        <Link href="/login" className="font-semibold text-blue-800 underline">
          {t.registerForm.signIn}
        </Link>
      </p>
    </div>
  );
}
