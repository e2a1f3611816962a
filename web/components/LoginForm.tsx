"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";

import { fieldError, login } from "@/lib/api";
import { dashboardFor, safeNext, useSession } from "@/lib/session";

import { buttonClass, ErrorMessage, TextField } from "./ui";

export function LoginForm() {
  const router = useRouter();
  const session = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (session.status === "authenticated") {
      const next = safeNext(new URLSearchParams(window.location.search).get("next"));
      router.replace(next ?? dashboardFor(session.user));
    }
  }, [session.status, session.user, router]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(email, password);
      // The effect above navigates once the session says "authenticated".
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="mx-auto max-w-md">
      <h1 className="mb-4 text-2xl font-bold">Sign in</h1>
      {session.endedReason && !error ? (
        <p role="status" className="mb-3 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900" data-testid="session-ended">
          {session.endedReason}
        </p>
      ) : null}
      <form onSubmit={submit} className="flex flex-col gap-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid="login-form" noValidate>
        <TextField
          id="login-email"
          label="Email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={fieldError(error, "email")}
        />
        <TextField
          id="login-password"
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fieldError(error, "password")}
        />
        <ErrorMessage error={error} />
        <button type="submit" className={buttonClass("primary")} disabled={busy} data-testid="login-submit">
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p className="mt-4 text-sm text-slate-700">
        New here?{" "}
        <Link href="/register" className="font-semibold text-blue-800 underline">
          Create an account
        </Link>
      </p>
    </div>
  );
}
