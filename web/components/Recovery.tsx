"use client";

/**
 * Account recovery and verification (API 1.1 "Accounts"): ask for a reset link, set a new
 * password with it, confirm the email address, and the banner that offers to resend that link.
 * The links in the mails open /reset-password?token=… and /verify-email?token=….
 */
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState, useSyncExternalStore, type FormEvent } from "react";

import { ApiError, api, paths, updateSessionUser } from "@/lib/api";
import { fieldError } from "@/lib/problems";
import { useSession } from "@/lib/session";
import type { Accepted, User } from "@/lib/types";

import { buttonClass, ErrorMessage, Loading, TextField } from "./ui";
import { t as messages, useMessages } from "@/lib/i18n";

export const MIN_PASSWORD = 10;
export const MAX_PASSWORD = 128;
/** What the sign-in page shows after a reset (?notice=password-reset). */
export const RESET_NOTICE = "password-reset";

const noSubscribe = () => () => undefined;

/** A query parameter of this page, read on the client (the pages are exported statically); undefined while pre-rendering. */
export function useQueryParam(name: string): string | null | undefined {
  return useSyncExternalStore(
    noSubscribe,
    () => new URLSearchParams(window.location.search).get(name),
    () => undefined,
  );
}

/** The token of a mailed link. */
function useLinkToken(): string | null | undefined {
  return useQueryParam("token");
}

/** The checks the server makes too (RegisterIn.password), said before a round trip. */
export function passwordProblem(password: string, again: string): { password?: string; again?: string } {
  const say = messages().recovery;
  if (password.length < MIN_PASSWORD) return { password: say.useAtLeast(MIN_PASSWORD) };
  if (password.length > MAX_PASSWORD) return { password: say.useAtMost(MAX_PASSWORD) };
  if (password !== again) return { again: say.passwordsDiffer };
  return {};
}

function StatusBox({ children, testId, tone = "green" }: { children: React.ReactNode; testId: string; tone?: "green" | "amber" }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  const colours = tone === "green" ? "border-green-300 bg-green-50 text-green-900" : "border-amber-300 bg-amber-50 text-amber-900";
  return (
    <div ref={ref} tabIndex={-1} role="status" data-testid={testId} className={`rounded-md border p-3 text-sm focus:outline-none focus:ring-2 focus:ring-blue-700 ${colours}`}>
      {children}
    </div>
  );
}

export function ForgotPasswordForm() {
  const t = useMessages();
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!email.trim()) {
      setError(new ApiError({ title: t.recovery.enterYourEmail, status: 400, code: "invalid", detail: t.recovery.enterSignInEmail, errors: [{ field: "email", message: t.recovery.enterSignInEmail }] }));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await api.post<Accepted>(paths.passwordResetRequest(), { email: email.trim() }, { auth: false });
      setSent(answer.detail);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="mx-auto max-w-md">
      <h1 className="mb-2 text-2xl font-bold">{t.recovery.forgotYourPassword}</h1>
      {sent ? (
        <StatusBox testId="forgot-sent">
          <p>{sent}</p>
          <p className="mt-2">{t.recovery.checkYourInboxAnd}</p>
        </StatusBox>
      ) : (
        <>
          <p className="mb-4 text-sm text-slate-700">{t.recovery.enterTheEmailYou}</p>
          <form onSubmit={submit} noValidate className="flex flex-col gap-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid="forgot-form">
            <TextField id="forgot-email" label={t.recovery.email} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(error, "email")} />
            <ErrorMessage error={error} inline={["email"]} />
            <button type="submit" className={buttonClass("primary")} disabled={busy} data-testid="forgot-submit">
              {busy ? t.recovery.sending : t.recovery.sendMeAReset}
            </button>
          </form>
        </>
      )}
      <p className="mt-4 text-sm text-slate-700">
        <Link href="/login" className="font-semibold text-blue-800 underline">
          {t.recovery.backToSignIn}
        </Link>
      </p>
    </div>
  );
}

export function ResetPasswordForm() {
  const t = useMessages();
  const router = useRouter();
  const token = useLinkToken();
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [problems, setProblems] = useState<{ password?: string; again?: string }>({});
  const [error, setError] = useState<unknown>(null);
  const [expired, setExpired] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found = passwordProblem(password, again);
    setProblems(found);
    if (found.password || found.again) {
      document.getElementById(found.password ? "reset-password" : "reset-password-again")?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.post<void>(paths.passwordReset(), { token, new_password: password }, { auth: false });
      router.replace(`/login?notice=${RESET_NOTICE}`);
    } catch (e) {
      if (e instanceof ApiError && e.code === "invalid_token") setExpired(true);
      else setError(e);
    } finally {
      setBusy(false);
    }
  }

  if (token === undefined) return <Loading />;
  if (!token || expired) {
    return (
      <div className="mx-auto max-w-md">
        <h1 className="mb-2 text-2xl font-bold">{t.recovery.chooseANewPassword}</h1>
        <StatusBox testId="reset-invalid" tone="amber">
          {t.recovery.thisLinkIsInvalid}{" "}
          <Link href="/forgot-password" className="font-semibold underline">
            {t.recovery.askForANew}
          </Link>
          .
        </StatusBox>
      </div>
    );
  }
  return (
    <div className="mx-auto max-w-md">
      <h1 className="mb-2 text-2xl font-bold">{t.recovery.chooseANewPassword}</h1>
      <p className="mb-4 text-sm text-slate-700">{t.recovery.atLeast}{MIN_PASSWORD}{t.recovery.charactersYouWillBe}</p>
      <form onSubmit={submit} noValidate className="flex flex-col gap-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid="reset-form">
        <TextField
          id="reset-password"
          label={t.recovery.newPassword}
          type="password"
          autoComplete="new-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={problems.password ?? fieldError(error, "new_password")}
        />
        <TextField id="reset-password-again" label={t.recovery.newPasswordAgain} type="password" autoComplete="new-password" required value={again} onChange={(e) => setAgain(e.target.value)} error={problems.again} />
        <ErrorMessage error={error} inline={["new_password"]} />
        <button type="submit" className={buttonClass("primary")} disabled={busy} data-testid="reset-submit">
          {busy ? t.recovery.saving : t.recovery.setTheNewPassword}
        </button>
      </form>
    </div>
  );
}

type VerifyState = "checking" | "done" | "invalid" | "error";

export function VerifyEmail() {
  const t = useMessages();
  const token = useLinkToken();
  const session = useSession();
  const [state, setState] = useState<VerifyState>("checking");
  const [error, setError] = useState<unknown>(null);
  const sent = useRef(false);
  const shown: VerifyState = token === null ? "invalid" : state;

  useEffect(() => {
    if (!token || sent.current) return;
    sent.current = true; // once: a second POST of the same token would be refused as used
    api
      .post<void>(paths.verifyEmail(), { token }, { auth: false })
      .then(() => setState("done"))
      .catch((e: unknown) => {
        setError(e);
        setState(e instanceof ApiError && e.code === "invalid_token" ? "invalid" : "error");
      });
  }, [token]);

  useEffect(() => {
    const user = session.user;
    if (state === "done" && user && !user.email_verified) updateSessionUser({ ...user, email_verified: true });
  }, [state, session.user]);

  return (
    <div className="mx-auto max-w-md">
      <h1 className="mb-2 text-2xl font-bold">{t.recovery.confirmYourEmailAddress}</h1>
      {shown === "checking" ? <Loading label={t.recovery.confirmingYourEmailAddress} /> : null}
      {shown === "done" ? (
        <StatusBox testId="verify-done">
          {t.recovery.yourEmailAddressIs}{" "}
          <Link href={session.user ? "/account" : "/login"} className="font-semibold underline">
            {session.user ? t.recovery.goToYourAccount : t.recovery.signIn}
          </Link>
        </StatusBox>
      ) : null}
      {shown === "invalid" ? (
        <StatusBox testId="verify-invalid" tone="amber">
          {t.recovery.thisLinkIsInvalid2}
        </StatusBox>
      ) : null}
      {shown === "error" ? <ErrorMessage error={error} /> : null}
    </div>
  );
}

/** For signed-in users whose address is not proven yet: say so, and offer to resend the link. */
export function VerifyEmailBanner({ user }: { user: User }) {
  const t = useMessages();
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  if (user.email_verified || user.role === "bot") return null;

  async function resend() {
    setBusy(true);
    setError(null);
    try {
      setSent((await api.post<Accepted>(paths.verifyEmailRequest())).detail);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="border-b border-amber-300 bg-amber-50" data-testid="verify-banner">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center justify-between gap-2 px-4 py-2 text-sm text-amber-900">
        <p role="status">{sent ?? t.recovery.confirmEmail(user.email)}</p>
        {sent ? null : (
          <button type="button" className={buttonClass("secondary")} onClick={resend} disabled={busy} data-testid="verify-resend">
            {busy ? t.recovery.sending : t.recovery.resendTheLink}
          </button>
        )}
        {error ? <ErrorMessage error={error} testId="verify-banner-error" /> : null}
      </div>
    </div>
  );
}
