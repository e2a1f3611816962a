"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState, type FormEvent } from "react";

import { ApiError, login, loginWithCode, mfaStatus } from "@/lib/api";
import { check, fieldError, plainError, rules } from "@/lib/problems";
import { dashboardFor, safeNext, SECURITY_PAGE, useSession } from "@/lib/session";

import { RESET_NOTICE, useQueryParam } from "./Recovery";
import { buttonClass, ErrorMessage, TextField } from "./ui";
import { useMessages } from "@/lib/i18n";

export function LoginForm() {
  const t = useMessages();
  const router = useRouter();
  const session = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // The second step: set once the password was right and the account has a second factor.
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  const [restartNote, setRestartNote] = useState<string | null>(null);
  const resetDone = useQueryParam("notice") === RESET_NOTICE;

  useEffect(() => {
    if (session.status !== "authenticated" || !session.user) return;
    const user = session.user;
    const next = safeNext(new URLSearchParams(window.location.search).get("next")) ?? dashboardFor(user);
    let live = true;
    mfaStatus(user.id)
      .then((status) => {
        if (!live) return;
        const mustEnrol = status.required && !status.enabled;
        router.replace(mustEnrol ? `${SECURITY_PAGE}?next=${encodeURIComponent(next)}` : next);
      })
      .catch(() => {
        if (live) router.replace(next);
      });
    return () => {
      live = false;
    };
  }, [session.status, session.user, router]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const invalid = check([
      email.trim() ? rules.email("email", email) : rules.required("email", email, t.problems.yourEmailAddress),
      rules.required("password", password, t.problems.yourPassword),
    ]);
    setError(invalid);
    if (invalid) return;
    setBusy(true);
    setRestartNote(null);
    try {
      await login(email.trim(), password);
      // The effect above navigates once the session says "authenticated".
    } catch (e) {
      if (e instanceof ApiError && e.code === "mfa_required" && e.problem.mfa_token) {
        setMfaToken(e.problem.mfa_token);
      } else {
        setError(e);
      }
    } finally {
      setBusy(false);
    }
  }

  function restart(note: string | null) {
    setMfaToken(null);
    setPassword("");
    setRestartNote(note);
  }

  if (mfaToken) {
    return <CodeStep mfaToken={mfaToken} onRestart={restart} />;
  }

  return (
    <div className="mx-auto max-w-md">
      <h1 className="mb-4 text-2xl font-bold">{t.loginForm.signIn}</h1>
      {session.endedReason && !error ? (
        <p role="status" className="mb-3 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900" data-testid="session-ended">
          {session.endedReason}
        </p>
      ) : null}
      {resetDone && !error ? (
        <p role="status" className="mb-3 rounded-md border border-green-300 bg-green-50 p-3 text-sm text-green-900" data-testid="reset-notice">
          {t.loginForm.yourPasswordWasChanged}
        </p>
      ) : null}
      {restartNote ? (
        <p role="status" className="mb-3 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900" data-testid="mfa-restart">
          {restartNote}
        </p>
      ) : null}
      <form onSubmit={submit} className="flex flex-col gap-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid="login-form" noValidate>
        <TextField
          id="login-email"
          label={t.loginForm.email}
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={fieldError(error, "email")}
        />
        <TextField
          id="login-password"
          label={t.loginForm.password}
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fieldError(error, "password")}
        />
        <ErrorMessage error={error} inline={["email", "password"]} />
        <button type="submit" className={buttonClass("primary")} disabled={busy} data-testid="login-submit">
          {busy ? t.loginForm.signingIn : t.loginForm.signIn}
        </button>
      </form>
      <p className="mt-4 text-sm text-slate-700">
        <Link href="/forgot-password" className="font-semibold text-blue-800 underline" data-testid="forgot-link">
          {t.loginForm.forgotPassword}
        </Link>
      </p>
      <p className="mt-2 text-sm text-slate-700">
        {t.loginForm.newHere}{" "}
        <Link href="/register" className="font-semibold text-blue-800 underline">
          {t.loginForm.createAnAccount}
        </Link>
      </p>
    </div>
  );
}

/** The second sign-in step: a code from the authenticator app, or one recovery code. */
function CodeStep({ mfaToken, onRestart }: { mfaToken: string; onRestart: (note: string | null) => void }) {
  const t = useMessages();
  const [code, setCode] = useState("");
  const [recovery, setRecovery] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    heading.current?.focus();
  }, []);

  function switchKind() {
    setRecovery((r) => !r);
    setCode("");
    setError(null);
    setTimeout(() => input.current?.focus(), 0);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const typed = code.trim();
    if (!typed) {
      setError(recovery ? t.loginForm.enterRecoveryCode : t.loginForm.enterAuthenticatorCode);
      input.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await loginWithCode(mfaToken, typed);
      // LoginForm's effect navigates once the session says "authenticated".
    } catch (e) {
      if (e instanceof ApiError && e.code === "invalid_code") {
        const left = e.problem.attempts_left;
        if (left === 0) {
          onRestart(t.loginForm.tooManyWrongCodes);
          return;
        }
        const tries = left === undefined ? "" : ` ${left} ${left === 1 ? "try" : "tries"} left.`;
        setError(
          (recovery
            ? t.loginForm.wrongRecoveryCode
            : t.loginForm.wrongCode) + tries,
        );
        setCode("");
        input.current?.focus();
      } else if (e instanceof ApiError && e.code === "invalid_token") {
        onRestart(t.loginForm.stepExpired);
      } else {
        setError(plainError(e).summary);
      }
    } finally {
      setBusy(false);
    }
  }

  const id = recovery ? "login-recovery-code" : "login-code";
  return (
    <div className="mx-auto max-w-md">
      <h1 ref={heading} tabIndex={-1} className="mb-2 text-2xl font-bold focus:outline-none" data-testid="mfa-step">
        {t.loginForm.twoStepSignIn}
      </h1>
      <p className="mb-4 text-sm text-slate-700">
        {recovery
          ? t.loginForm.enterOneOfThe
          : t.loginForm.openYourAuthenticatorApp}
      </p>
      <form onSubmit={submit} className="flex flex-col gap-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid="mfa-form" noValidate>
        {recovery ? (
          <TextField
            key={id}
            ref={input}
            id={id}
            label={t.loginForm.recoveryCode}
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            error={error ?? undefined}
          />
        ) : (
          <TextField
            key={id}
            ref={input}
            id={id}
            label={t.loginForm.n6DigitCode}
            autoComplete="one-time-code"
            inputMode="numeric"
            pattern="[0-9]*"
            maxLength={8}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            error={error ?? undefined}
          />
        )}
        <button type="submit" className={buttonClass("primary")} disabled={busy} data-testid="mfa-submit">
          {busy ? t.loginForm.checking : t.loginForm.verifyAndSignIn}
        </button>
        <div className="flex flex-wrap justify-between gap-2">
          <button type="button" className={buttonClass("ghost")} onClick={switchKind} data-testid="mfa-switch">
            {recovery ? t.loginForm.useTheCodeFrom : t.loginForm.useARecoveryCode}
          </button>
          <button type="button" className={buttonClass("ghost")} onClick={() => onRestart(null)}>
            {t.loginForm.startOver}
          </button>
        </div>
      </form>
    </div>
  );
}
