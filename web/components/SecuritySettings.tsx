"use client";

/**
 * Two-step sign-in (TOTP): set it up with a QR code (drawn here in the browser, never by another
 * service) or the key typed by hand, confirm with a code, and save the ten recovery codes, which
 * are shown once. Turning it off needs the password and a code.
 */
import { useRouter } from "next/navigation";
import QRCode from "qrcode";
import { useCallback, useEffect, useRef, useState, type FormEvent, type RefObject } from "react";

import { api, forgetMfaStatus, type MfaStatus, paths } from "@/lib/api";
import { fieldError } from "@/lib/problems";
import { dashboardFor, safeNext, useRequireUser } from "@/lib/session";
import type { User } from "@/lib/types";
import { useApi } from "@/lib/useApi";

import { buttonClass, ErrorMessage, Loading, Notice, Section, TextField } from "./ui";
import { useMessages } from "@/lib/i18n";

interface Enrolment {
  secret: string;
  otpauth_uri: string;
  qr: string;
}

export function SecuritySettings() {
  const { user } = useRequireUser(["patient", "doctor", "admin"], { enrolmentPage: true });
  if (!user) return <Loading />;
  return <Security user={user} />;
}

/** "JBSWY3DPEHPK3PXP" -> "JBSW Y3DP EHPK 3PXP", easier to type. */
function grouped(secret: string): string {
  return secret.replace(/(.{4})/g, "$1 ").trim();
}

function useFocusOnChange<T extends HTMLElement>(key: unknown) {
  const ref = useRef<T>(null);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    ref.current?.focus();
  }, [key]);
  return ref;
}

function Security({ user }: { user: User }) {
  const t = useMessages();
  const router = useRouter();
  const resource = useApi<MfaStatus>(paths.mfa());
  const status = resource.data;
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [code, setCode] = useState("");
  const [codes, setCodes] = useState<string[] | null>(null);
  const [copied, setCopied] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const step = codes ? "codes" : enrolment ? "scan" : status?.enabled ? "on" : "off";
  const heading = useFocusOnChange<HTMLHeadingElement>(step);

  const reloadStatus = resource.reload;
  const load = useCallback(() => {
    forgetMfaStatus();
    reloadStatus();
  }, [reloadStatus]);

  async function start() {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const started = await api.post<{ secret: string; otpauth_uri: string }>(paths.totp());
      const qr = await QRCode.toDataURL(started.otpauth_uri, { errorCorrectionLevel: "M", margin: 2, width: 240 });
      setEnrolment({ ...started, qr });
      setCode("");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function confirm(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const done = await api.post<{ recovery_codes: string[] }>(paths.totpConfirm(), { code: code.trim() });
      forgetMfaStatus();
      setCodes(done.recovery_codes);
      setEnrolment(null);
      setCode("");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  async function copyCodes() {
    if (!codes) return;
    try {
      await navigator.clipboard.writeText(codes.join("\n"));
      setCopied(true);
    } catch {
      setCopied(false);
      setError(new Error(t.securitySettings.copyBlocked));
    }
  }

  function downloadCodes() {
    if (!codes) return;
    const text = `CareConnect recovery codes for ${user.email}\nEach code works once.\n\n${codes.join("\n")}\n`;
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = "careconnect-recovery-codes.txt";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  function finish() {
    setCodes(null);
    const next = safeNext(new URLSearchParams(window.location.search).get("next"));
    if (next || status?.required) {
      router.replace(next ?? dashboardFor(user));
      return;
    }
    setNotice("Two-step sign-in is on.");
    load();
  }

  if (!status) {
    return resource.error ? <ErrorMessage error={resource.error} /> : <Loading />;
  }

  return (
    <div className="mx-auto flex max-w-xl flex-col gap-4">
      <h1 className="text-2xl font-bold">{t.securitySettings.signInSecurity}</h1>
      {notice ? <Notice testId="mfa-notice">{notice}</Notice> : null}
      {status.required && !status.enabled && !codes ? (
        <p role="status" className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900" data-testid="mfa-required">
          {t.securitySettings.accountsLikeYoursMust}
        </p>
      ) : null}

      {step === "off" && (
        <Section title={t.securitySettings.twoStepSignIn} id="mfa-off" headingRef={heading}>
          <p className="mb-3 text-sm text-slate-700">
            {t.securitySettings.afterYourPasswordYou}
          </p>
          <ErrorMessage error={error} />
          <button type="button" className={buttonClass("primary", "mt-3")} onClick={start} disabled={busy} data-testid="mfa-start">
            {busy ? t.securitySettings.preparing : t.securitySettings.setUpTwoStep}
          </button>
        </Section>
      )}

      {step === "scan" && enrolment && (
        <Section title={t.securitySettings.addCareconnectToYour} id="mfa-scan" headingRef={heading}>
          <ol className="mb-3 list-decimal pl-5 text-sm text-slate-800">
            <li>{t.securitySettings.inTheAppAdd}</li>
            <li>{t.securitySettings.enterThe6Digit}</li>
          </ol>
          {/* A data: URL drawn in this browser; next/image has nothing to optimize here. */}
          {/* eslint-disable-next-line @next/next/no-img-element */}
          <img
            src={enrolment.qr}
            width={240}
            height={240}
            alt={t.securitySettings.qrAlt(user.email)}
            className="mx-auto rounded border border-slate-200"
            data-testid="mfa-qr"
          />
          <p className="mt-3 text-sm text-slate-700">{t.securitySettings.cannotScanItType}</p>
          <p className="mt-1 break-all rounded bg-slate-100 p-2 text-center font-mono text-base tracking-wide" data-testid="mfa-secret">
            {grouped(enrolment.secret)}
          </p>
          <form onSubmit={confirm} className="mt-4 flex flex-col gap-3" noValidate data-testid="mfa-confirm-form">
            <TextField
              id="mfa-confirm-code"
              label={t.securitySettings.n6DigitCodeFrom}
              autoComplete="one-time-code"
              inputMode="numeric"
              pattern="[0-9]*"
              maxLength={8}
              value={code}
              onChange={(e) => setCode(e.target.value)}
              error={fieldError(error, "code")}
            />
            <ErrorMessage error={error} inline={["code"]} />
            <div className="flex flex-wrap gap-2">
              <button type="submit" className={buttonClass("primary")} disabled={busy} data-testid="mfa-confirm">
                {busy ? t.securitySettings.checking : t.securitySettings.turnOnTwoStep}
              </button>
              <button type="button" className={buttonClass("secondary")} onClick={() => setEnrolment(null)} disabled={busy}>
                {t.securitySettings.cancel}
              </button>
            </div>
          </form>
        </Section>
      )}

      {step === "codes" && codes && (
        <Section title={t.securitySettings.saveYourRecoveryCodes} id="mfa-codes" headingRef={heading}>
          <p className="mb-3 text-sm text-slate-800">
            {t.securitySettings.twoStepSignIn2}<strong>{t.securitySettings.theyAreShownOnly}</strong>{t.securitySettings.copyThemDownloadThem}
          </p>
          <ol className="grid grid-cols-1 gap-1 font-mono text-base sm:grid-cols-2" data-testid="recovery-codes">
            {codes.map((c) => (
              <li key={c} className="rounded bg-slate-100 px-2 py-1 text-center">
                {c}
              </li>
            ))}
          </ol>
          <ErrorMessage error={error} />
          <div className="mt-3 flex flex-wrap gap-2">
            <button type="button" className={buttonClass("secondary")} onClick={copyCodes} data-testid="mfa-copy">
              {copied ? t.securitySettings.copied : t.securitySettings.copyCodes}
            </button>
            <button type="button" className={buttonClass("secondary")} onClick={downloadCodes} data-testid="mfa-download">
              {t.securitySettings.downloadCodes}
            </button>
            <button type="button" className={buttonClass("primary")} onClick={finish} data-testid="mfa-done">
              {t.securitySettings.iHaveSavedThem}
            </button>
          </div>
          <p aria-live="polite" className="sr-only">
            {copied ? t.securitySettings.theRecoveryCodesWere : ""}
          </p>
        </Section>
      )}

      {step === "on" && <TurnOff left={status.recovery_codes_left} headingRef={heading} onOff={load} />}
    </div>
  );
}

function TurnOff({
  left,
  headingRef,
  onOff,
}: {
  left: number;
  headingRef: RefObject<HTMLHeadingElement | null>;
  onOff: () => void;
}) {
  const t = useMessages();
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.delete<void>(paths.totp(), { body: { password, code: code.trim() } });
      onOff();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Section title={t.securitySettings.twoStepSignIn3} id="mfa-on" headingRef={headingRef}>
      <p className="mb-3 text-sm text-slate-700" data-testid="recovery-left">
        {left}{t.securitySettings.unusedRecovery}{left === 1 ? t.securitySettings.code : t.securitySettings.codes}{t.securitySettings.left}
      </p>
      <form onSubmit={submit} className="flex flex-col gap-3" noValidate data-testid="mfa-off-form">
        <p className="text-sm text-slate-700">{t.securitySettings.toTurnItOff}</p>
        <TextField
          id="mfa-off-password"
          label={t.securitySettings.password}
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fieldError(error, "password")}
        />
        <TextField
          id="mfa-off-code"
          label={t.securitySettings.codeFromTheApp}
          autoComplete="one-time-code"
          value={code}
          onChange={(e) => setCode(e.target.value)}
          error={fieldError(error, "code")}
        />
        <ErrorMessage error={error} inline={["password", "code"]} />
        <button type="submit" className={buttonClass("danger")} disabled={busy} data-testid="mfa-turn-off">
          {busy ? t.securitySettings.turningOff : t.securitySettings.turnOffTwoStep}
        </button>
      </form>
    </Section>
  );
}
