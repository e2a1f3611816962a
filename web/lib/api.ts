/**
 * The REST client and the session.
 *
 * The access token lives in this module only (never in storage). On load the HttpOnly refresh
 * cookie restores the session through POST /api/v1/auth/refresh. Refreshes are serialized across
 * every tab of the browser with the Web Locks API, and a tab that gets a new token shares it with
 * the others over a BroadcastChannel: a tab that waited for the lock uses the shared token instead
 * of presenting the cookie again, so rotation never revokes the session family.
 */
import type { TokenResponse, User } from "./types";
import { t } from "./i18n";

export const API_BASE = "/api/v1";
const LOCK_NAME = "cc-refresh";
const CHANNEL_NAME = "cc-session";
/** Renew this long before the access token expires, so the hub never sees an expired token. */
const EARLY_REFRESH_S = 60;
/** Readable twin of the HttpOnly refresh cookie (no secret): a page load probes only with it. */
const SESSION_HINT = "cc_session";

function hasSessionHint(): boolean {
  return typeof document !== "undefined" && document.cookie.split(";").some((c) => c.trim().startsWith(`${SESSION_HINT}=1`));
}

function dropSessionHint(): void {
  if (typeof document !== "undefined") document.cookie = `${SESSION_HINT}=; Max-Age=0; Path=/; SameSite=Strict`;
}

export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  request_id?: string;
  errors?: FieldError[];
  /** With code "mfa_required": the token for POST /auth/login/mfa. */
  mfa_token?: string;
  /** With code "invalid_code": tries left for this mfa_token. */
  attempts_left?: number;
}

/** An error answered by the API (RFC 9457 problem details) or a network failure (status 0). */
export class ApiError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.name = "ApiError";
    this.problem = problem;
  }

  get status(): number {
    return this.problem.status;
  }

  get code(): string {
    return this.problem.code;
  }

  get fieldErrors(): FieldError[] {
    return this.problem.errors ?? [];
  }
}

/** The words to show a person for any error. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const p = error.problem;
    if (p.status === 0) return p.detail ?? t().errors.unreachable;
    const base = p.detail && p.detail !== p.title ? `${p.title}: ${p.detail}` : p.title || t().errors.generic;
    const withFields =
      p.errors && p.errors.length > 0 && !p.detail?.includes(p.errors[0]?.message ?? "\u0000")
        ? `${base} (${p.errors.map((e) => `${humanField(e.field)}: ${e.message}`).join("; ")})`
        : base;
    return p.request_id ? t().errors.withRequest(withFields, p.request_id) : withFields;
  }
  if (error instanceof Error) return error.message;
  return t().errors.generic;
}

/** "doctor.license_number" -> "license number"; "$.weekly[0].start" -> "weekly 1 start". */
export function humanField(field: string): string {
  const last = field.replace(/^\$?\.?(body\.)?/, "");
  return last.replace(/\[(\d+)\]/g, (_, n: string) => ` ${Number(n) + 1}`).replace(/[._]/g, " ").trim();
}

/** The message for one field, matching "email", "$.email", "body.email" or "doctor.specialty". */
export function fieldError(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const found = error.fieldErrors.find((e) => {
    const f = e.field.replace(/^\$\./, "").replace(/^body\./, "");
    return f === field || f.endsWith(`.${field}`) || f.startsWith(`${field}[`) || f.startsWith(`${field}.`);
  });
  return found?.message;
}

// ---------------------------------------------------------------------------------------------
// Session state

export type SessionStatus = "loading" | "authenticated" | "anonymous";

export interface SessionSnapshot {
  status: SessionStatus;
  user: User | null;
  /** Why the session ended, if it ended on its own (shown on the login page). */
  endedReason: string | null;
}

let accessToken: string | null = null;
let expiresAt = 0;
let refreshTimer: ReturnType<typeof setTimeout> | null = null;
let snapshot: SessionSnapshot = { status: "loading", user: null, endedReason: null };
const sessionListeners = new Set<() => void>();
const tokenListeners = new Set<(token: string) => void>();
let restoring: Promise<User | null> | null = null;
let refreshing: Promise<string | null> | null = null;
let channel: BroadcastChannel | null = null;

type ChannelMessage =
  | { type: "token"; token: string; expiresAt: number; user: User }
  | { type: "logout"; reason: string | null };

function setSnapshot(next: SessionSnapshot): void {
  snapshot = next;
  for (const listener of sessionListeners) listener();
}

export function getSession(): SessionSnapshot {
  return snapshot;
}

export function subscribeSession(listener: () => void): () => void {
  sessionListeners.add(listener);
  ensureChannel();
  return () => sessionListeners.delete(listener);
}

/** Called with every new access token (the hub forwards it as a `refresh` frame). */
export function onTokenChange(listener: (token: string) => void): () => void {
  tokenListeners.add(listener);
  return () => tokenListeners.delete(listener);
}

export function getAccessToken(): string | null {
  return accessToken;
}

function ensureChannel(): BroadcastChannel | null {
  if (channel || typeof window === "undefined" || typeof BroadcastChannel === "undefined") return channel;
  channel = new BroadcastChannel(CHANNEL_NAME);
  channel.onmessage = (event: MessageEvent<ChannelMessage>) => {
    const msg = event.data;
    if (msg.type === "token") {
      // Another tab renewed the session: use its token (the cookie it got is ours too).
      adoptToken(msg.token, msg.expiresAt, msg.user, false);
    } else if (msg.type === "logout") {
      clearSession(msg.reason ?? t().session.signedOutElsewhere, false);
    }
  };
  return channel;
}

function broadcast(msg: ChannelMessage): void {
  try {
    ensureChannel()?.postMessage(msg);
  } catch {
    // A closed channel only means no other tab hears it.
  }
}

function adoptToken(token: string, expiry: number, user: User, announce: boolean): void {
  const changed = token !== accessToken;
  accessToken = token;
  expiresAt = expiry;
  setSnapshot({ status: "authenticated", user, endedReason: null });
  scheduleRefresh();
  if (announce) broadcast({ type: "token", token, expiresAt: expiry, user });
  if (changed) for (const listener of tokenListeners) listener(token);
}

function clearSession(reason: string | null, announce: boolean): void {
  forgetMfaStatus();
  accessToken = null;
  expiresAt = 0;
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
  setSnapshot({ status: "anonymous", user: null, endedReason: reason });
  // The other tabs hear why: an expiry is an expiry there too; a sign-out came from this tab.
  if (announce) broadcast({ type: "logout", reason: reason ?? t().session.signedOutElsewhere });
}

/** The signed-in user changed (a saved profile, a verified email): every view of the session sees it. */
export function updateSessionUser(user: User): void {
  if (snapshot.status !== "authenticated" || snapshot.user?.id !== user.id) return;
  setSnapshot({ ...snapshot, user });
  if (accessToken) broadcast({ type: "token", token: accessToken, expiresAt, user });
}

function scheduleRefresh(): void {
  if (typeof window === "undefined") return;
  if (refreshTimer) clearTimeout(refreshTimer);
  const delay = Math.max(5_000, expiresAt - Date.now() - EARLY_REFRESH_S * 1000);
  refreshTimer = setTimeout(() => {
    void refreshSession().catch(() => undefined);
  }, delay);
}

function fromTokenResponse(body: TokenResponse): void {
  adoptToken(body.access_token, Date.now() + body.expires_in * 1000, body.user, true);
}

async function withRefreshLock<T>(work: () => Promise<T>): Promise<T> {
  if (typeof navigator !== "undefined" && navigator.locks?.request) {
    return navigator.locks.request(LOCK_NAME, { mode: "exclusive" }, work) as Promise<T>;
  }
  return work();
}

/**
 * Get a new access token from the refresh cookie. One refresh at a time in this tab (callers
 * share the promise) and across tabs (the lock); returns null when the session has ended.
 */
export function refreshSession(): Promise<string | null> {
  if (refreshing) return refreshing;
  const startedWith = accessToken;
  refreshing = withRefreshLock(async () => {
    // While we waited for the lock another tab may have renewed and shared a token.
    if (accessToken && accessToken !== startedWith && expiresAt - Date.now() > EARLY_REFRESH_S * 1000) {
      return accessToken;
    }
    // No session cookie in this browser (never signed in, or signed out): nothing to renew, and
    // asking would only log a 401 in the console.
    if (!accessToken && !hasSessionHint()) {
      if (snapshot.status !== "anonymous") setSnapshot({ status: "anonymous", user: null, endedReason: snapshot.endedReason });
      return null;
    }
    let response: Response;
    try {
      response = await fetch(`${API_BASE}/auth/refresh`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF": "1", Accept: "application/json" },
      });
    } catch {
      throw networkError();
    }
    if (response.status === 401 || response.status === 403) {
      // Read the (unused) problem body: API answers are Cache-Control: no-store, and an unread
      // body would keep the request open (nothing else reads it without a cache to fill).
      await response.text().catch(() => "");
      const hadSession = snapshot.status === "authenticated";
      const hinted = hasSessionHint(); // a session this browser had (also after a reload) has expired
      dropSessionHint();
      clearSession(hadSession || hinted ? t().session.expired : null, hadSession);
      return null;
    }
    if (!response.ok) throw await problemFrom(response);
    const body = (await response.json()) as TokenResponse;
    fromTokenResponse(body);
    return body.access_token;
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** Restore the session once per page load (idempotent). Resolves to the user or null. */
export function restoreSession(): Promise<User | null> {
  if (snapshot.status === "authenticated") return Promise.resolve(snapshot.user);
  if (!restoring) {
    ensureChannel();
    restoring = refreshSession()
      .then(() => (snapshot.status === "authenticated" ? snapshot.user : null))
      .catch((error: unknown) => {
        // A network failure: stay "anonymous" but say why; the login page shows it.
        setSnapshot({ status: "anonymous", user: null, endedReason: describeError(error) });
        return null;
      })
      .finally(() => {
        restoring = null;
      });
  }
  return restoring;
}

export async function login(email: string, password: string): Promise<User> {
  const body = await request<TokenResponse>("POST", "/auth/login", { body: { email, password }, auth: false });
  fromTokenResponse(body);
  return body.user;
}

/** The second sign-in step, after login() failed with code "mfa_required". */
export async function loginWithCode(mfaToken: string, code: string): Promise<User> {
  const body = await request<TokenResponse>("POST", "/auth/login/mfa", {
    body: { mfa_token: mfaToken, code },
    auth: false,
  });
  fromTokenResponse(body);
  return body.user;
}

export interface MfaStatus {
  enabled: boolean;
  required: boolean;
  recovery_codes_left: number;
}

let mfaStatusCache: { userId: string; status: Promise<MfaStatus> } | null = null;

/** Whether the signed-in user has a second factor and must have one (asked once per user). */
export function mfaStatus(userId: string): Promise<MfaStatus> {
  if (!mfaStatusCache || mfaStatusCache.userId !== userId) {
    const status = request<MfaStatus>("GET", "/users/me/mfa");
    status.catch(() => forgetMfaStatus());
    mfaStatusCache = { userId, status };
  }
  return mfaStatusCache.status;
}

export function forgetMfaStatus(): void {
  mfaStatusCache = null;
}

/** End the session here and in every other tab of this browser. */
export async function logout(): Promise<void> {
  try {
    await request<void>("POST", "/auth/logout", { retry: false });
  } finally {
    clearSession(null, true);
  }
}

// ---------------------------------------------------------------------------------------------
// Requests

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Send the access token (default true). */
  auth?: boolean;
  /** On 401, refresh once and retry once (default true when auth). */
  retry?: boolean;
  /** Return the raw Response instead of parsed JSON. */
  raw?: boolean;
  signal?: AbortSignal;
}

function networkError(): ApiError {
  return new ApiError({
    title: t().session.networkError,
    status: 0,
    code: "network",
    detail: t().session.unreachable,
  });
}

async function problemFrom(response: Response): Promise<ApiError> {
  let body: Partial<Problem> | null = null;
  try {
    const text = await response.text();
    body = text ? (JSON.parse(text) as Partial<Problem>) : null;
  } catch {
    body = null;
  }
  const retryAfter = response.headers.get("Retry-After");
  const detail =
    body?.detail ??
    (response.status === 429 && retryAfter
      ? t().errors.tooManyRequests(retryAfter)
      : t().errors.serverAnswered(response.status, response.statusText));
  return new ApiError({
    mfa_token: typeof body?.mfa_token === "string" ? body.mfa_token : undefined,
    attempts_left: typeof body?.attempts_left === "number" ? body.attempts_left : undefined,
    type: body?.type,
    title: body?.title ?? (response.statusText || "Error"),
    status: body?.status ?? response.status,
    detail,
    code: body?.code ?? "http_" + response.status,
    request_id: body?.request_id ?? response.headers.get("X-Request-ID") ?? undefined,
    errors: body?.errors,
  });
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const auth = options.auth ?? true;
  const retry = options.retry ?? auth;
  const send = async (): Promise<Response> => {
    const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (auth && accessToken) headers.Authorization = `Bearer ${accessToken}`;
    try {
      return await fetch(`${API_BASE}${path}`, {
        method,
        headers,
        credentials: "same-origin",
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") throw error;
      throw networkError();
    }
  };
  let response = await send();
  if (response.status === 401 && retry) {
    const token = await refreshSession();
    if (token) {
      await response.text().catch(() => ""); // done with it: see refreshSession
      response = await send();
    }
  }
  if (!response.ok) throw await problemFrom(response);
  if (options.raw) return response as unknown as T;
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>("GET", path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>("POST", path, { ...options, body }),
  put: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>("PUT", path, { ...options, body }),
  patch: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>("PATCH", path, { ...options, body }),
  delete: <T>(path: string, options?: RequestOptions) => request<T>("DELETE", path, options),
};

/**
 * Every REST path the components call, relative to API_BASE (API.md), so no component spells one.
 * `useApi(paths.x(...))` reads; `api.post(paths.x(...), body)` writes.
 */
export const paths = {
  register: () => "/auth/register",
  me: () => "/users/me",
  myPassword: () => "/users/me/password",
  verifyEmailRequest: () => "/auth/verify-email/request",
  verifyEmail: () => "/auth/verify-email",
  passwordResetRequest: () => "/auth/password-reset/request",
  passwordReset: () => "/auth/password-reset",
  mfa: () => "/users/me/mfa",
  totp: () => "/users/me/mfa/totp",
  totpConfirm: () => "/users/me/mfa/totp/confirm",
  doctors: (params: { q?: string; specialty?: string; limit?: number }) => `/doctors${query(params)}`,
  specialties: () => "/doctors/specialties",
  doctorSlots: (doctorId: string, from: Date, to: Date) =>
    `/doctors/${doctorId}/slots${query({ from: from.toISOString(), to: to.toISOString() })}`,
  myAvailability: () => "/doctors/me/availability",
  appointments: () => "/appointments",
  appointmentList: (scope: "upcoming" | "past") => `/appointments${query({ scope })}`,
  appointment: (id: string) => `/appointments/${id}`,
  cancelAppointment: (id: string) => `/appointments/${id}/cancel`,
  rescheduleAppointment: (id: string) => `/appointments/${id}/reschedule`,
  appointmentCalendar: (id: string) => `/appointments/${id}/calendar.ics`,
  intake: (appointmentId: string) => `/appointments/${appointmentId}/intake`,
  consultationStep: (id: string, step: "check-in" | "start" | "complete" | "no-show") => `/consultations/${id}/${step}`,
  consultationNotes: (id: string) => `/consultations/${id}/notes`,
  consultationSummary: (id: string) => `/consultations/${id}/summary`,
  consultationIceServers: (id: string) => `/consultations/${encodeURIComponent(id)}/ice-servers`,
  consultationQueue: (id: string) => `/consultations/${id}/queue`,
  consultationParticipants: (id: string) => `/consultations/${id}/participants`,
  consultationParticipant: (id: string, clientId: string) => `/consultations/${id}/participants/${encodeURIComponent(clientId)}`,
  invitableIntegrations: () => "/integrations",
  patientHistory: (patientId: string) => `/patients/${patientId}/history`,
  adminDoctors: (params: { verification?: string; limit?: number; cursor?: string | null }) => `/admin/doctors${query(params)}`,
  adminUsers: (params: { role?: string; limit?: number; cursor?: string | null }) => `/admin/users${query(params)}`,
  adminUserAction: (userId: string, action: "enable" | "disable" | "password-reset") => `/admin/users/${userId}/${action}`,
  notifications: (params: { unread?: boolean; limit?: number; cursor?: string | null } = {}) =>
    `/notifications${query({ unread: params.unread ? "true" : undefined, limit: params.limit, cursor: params.cursor })}`,
  notificationRead: (id: string) => `/notifications/${id}/read`,
  notificationsReadAll: () => "/notifications/read-all",
  notificationPreferences: () => "/users/me/notification-preferences",
  adminDoctorDecision: (doctorId: string, decision: "approve" | "reject") => `/admin/doctors/${doctorId}/${decision}`,
};

/** Build a query string, leaving out empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Download a file from an authenticated endpoint (the browser cannot add the bearer token to a link). */
export async function download(path: string, filename: string): Promise<void> {
  const response = await request<Response>("GET", path, { raw: true, headers: { Accept: "*/*" } });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A fresh idempotency key / client message id. */
export function newId(): string {
  if (typeof crypto !== "undefined" && "randomUUID" in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
