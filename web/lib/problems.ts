/**
 * Problem details (RFC 9457, `code` and per-field `errors`) as the plain sentences a patient or
 * doctor reads. The server's words are written for developers ("Expected `str` of length >= 3",
 * regular expressions, route names); this module is the one place that turns them into "Your
 * password must be at least 10 characters." next to the password box. The request id stays
 * available, but only inside a "Details" disclosure (see `ErrorMessage` in components/ui.tsx).
 *
 * Browser-side checks (`check`) produce the same shape as a server 422, so a form shows its
 * own checks and the server's answer the same way.
 */
import { ApiError, type FieldError } from "./api";

/** The words for a field in a sentence, by its last name in the problem's `field` path. */
const LABELS: Record<string, string> = {
  email: "email address",
  password: "password",
  new_password: "new password",
  current_password: "current password",
  full_name: "full name",
  timezone: "time zone",
  role: "account type",
  specialty: "specialty",
  bio: "short bio",
  languages: "languages",
  license_number: "license number",
  reason: "reason for the visit",
  starts_at: "time",
  doctor_id: "doctor",
  doctor: "doctor details",
  chief_complaint: "main reason for the visit",
  symptoms: "symptoms",
  symptom_duration: "how long you have had them",
  medications: "medications",
  allergies: "allergies",
  conditions: "known conditions",
  notes: "notes",
  consent_to_treatment: "consent",
  code: "code",
  token: "link",
  slot_minutes: "slot length",
  min_notice_minutes: "minimum notice",
  horizon_days: "booking horizon",
  weekly: "weekly hours",
  exceptions: "exceptions",
  q: "search",
  cursor: "page",
};

/** "$.doctor.license_number" or "body.weekly[0].start" -> "doctor.license_number", "weekly[0].start". */
function normalize(field: string): string {
  return field.replace(/^\$\.?/, "").replace(/^body\.?/, "");
}

function lastName(field: string): string {
  const parts = normalize(field)
    .replace(/\[\d+\]/g, "")
    .split(".")
    .filter(Boolean);
  return parts[parts.length - 1] ?? "";
}

/** A field's name for a sentence: "license number"; a list item says which one ("weekly hours, row 2"). */
export function fieldLabel(field: string): string {
  const name = lastName(field);
  const label = LABELS[name] ?? (name ? name.replace(/_/g, " ") : "this form");
  const index = /\[(\d+)\]/.exec(field);
  return index ? `${label} (item ${Number(index[1]) + 1})` : label;
}

function capitalize(text: string): string {
  return text ? text[0]!.toUpperCase() + text.slice(1) : text;
}

function sentence(text: string): string {
  const t = capitalize(text.trim());
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** Developer words that never reach the page: code spans, regexes, routes, JSON paths. */
const TECHNICAL = /`|\bregex\b|\^\[|\$\.|\b(GET|POST|PUT|PATCH|DELETE)\s+\/|\/api\/|\{[a-z_]+\}|Authorization|Bearer|Idempotency-Key|\bExpected\b/i;

/** The server's own message when it is already plain words (route hints in brackets dropped). */
export function plainText(text: string | undefined | null): string | null {
  if (!text) return null;
  const cleaned = text
    .replace(/\s*\((?:GET|POST|PUT|PATCH|DELETE)\s[^)]*\)/g, "")
    .replace(/:\s*(?:GET|POST|PUT|PATCH|DELETE)\s+\/\S+\.?$/, ".")
    .trim();
  if (!cleaned || TECHNICAL.test(cleaned)) return null;
  return sentence(cleaned);
}

/** The `type` of a problem made by `check` in the browser: its messages are already plain. */
const CLIENT_CHECK = "about:client-check";

function messageOf(problemType: string | undefined, field: string, message: string): string {
  return problemType === CLIENT_CHECK ? message : plainFieldMessage(field, message);
}

/** One field's message as a sentence about that field. */
export function plainFieldMessage(field: string, message: string): string {
  const name = lastName(field);
  const label = fieldLabel(field);
  const m = message;
  if (name === "consent_to_treatment") return "Tick the box to consent to treatment before sending.";
  if (name === "email" && /regex|valid|email|format/i.test(m)) return "Enter an email address like name@example.com.";
  if (name === "timezone" && /zone|regex|valid/i.test(m)) return "Choose a time zone from the list.";
  if (/missing required field/i.test(m) || /got `null`/.test(m)) return `Fill in your ${label}.`;
  let found = /length >= (\d+)/.exec(m);
  if (found) {
    const n = Number(found[1]);
    return n <= 1 ? `Fill in your ${label}.` : `Your ${label} must be at least ${n} characters.`;
  }
  found = /length <= (\d+)/.exec(m);
  if (found) return `Your ${label} can be at most ${found[1]} characters; shorten it.`;
  found = /`(?:int|float|number)` >= (-?\d+)/.exec(m);
  if (found) return `The ${label} must be ${found[1]} or more.`;
  found = /`(?:int|float|number)` <= (-?\d+)/.exec(m);
  if (found) return `The ${label} must be ${found[1]} or less.`;
  found = /`array` of length <= (\d+)/.exec(m);
  if (found) return `List at most ${found[1]} ${label}.`;
  if (/regex|\\S|\(\?=/.test(m)) {
    return /\\S|\(\?=/.test(m)
      ? `Fill in your ${label} (not only spaces).`
      : `Your ${label} contains characters that cannot be used; remove them.`;
  }
  if (/Invalid enum value|Expected `bool`|Expected `true`/i.test(m)) return `Choose one of the options for ${label}.`;
  if (/Expected `(str|int|array|object)`/.test(m)) return `Check your ${label}: it is not in the expected form.`;
  const plain = plainText(m);
  if (plain) {
    // "wrong password" -> "Password: wrong password." reads badly; the label first, then the words.
    return plain.toLowerCase().includes(lastName(field).replace(/_/g, " ")) ? plain : `${capitalize(label)}: ${plain[0]!.toLowerCase()}${plain.slice(1)}`;
  }
  return `Check your ${label}.`;
}

/** What a person reads for an error: one summary sentence, each field's sentence, the request id. */
export interface PlainError {
  summary: string;
  fields: { field: string; message: string }[];
  requestId: string | null;
}

const BY_CODE: Record<string, string> = {
  slot_taken: "Someone else booked that time a moment ago. It is gone from the list: please pick another time.",
  rate_limited: "Too many tries in a short time. Wait a minute, then try again.",
  unavailable: "The service is busy for a moment. Try again in a few seconds.",
  internal: "Something went wrong on our side. Please try again; if it keeps happening, contact the clinic.",
  mfa_enrollment_required: "Your account needs a second sign-in step first: set it up under Security.",
};

const BY_STATUS: Record<number, string> = {
  400: "That request could not be handled. Please check what you entered and try again.",
  401: "Your session has ended. Please sign in again.",
  403: "Your account may not do this.",
  404: "We could not find that. It may have been cancelled or removed.",
  409: "That changed a moment ago. Reload the page and try again.",
  413: "That is too large to send.",
  429: BY_CODE.rate_limited!,
  500: BY_CODE.internal!,
  503: BY_CODE.unavailable!,
};

export function plainError(error: unknown): PlainError {
  if (!(error instanceof ApiError)) {
    const message = error instanceof Error ? plainText(error.message) : null;
    return { summary: message ?? "Something went wrong. Please try again.", fields: [], requestId: null };
  }
  const p = error.problem;
  const fields = (p.errors ?? []).map((e) => ({ field: normalize(e.field), message: messageOf(p.type, e.field, e.message) }));
  const requestId = p.request_id ?? null;
  if (p.status === 0) {
    return { summary: "We could not reach CareConnect. Check your internet connection and try again.", fields, requestId };
  }
  let summary: string;
  if (fields.length > 0 && (p.status === 422 || p.code === "validation_error")) {
    summary = fields.length === 1 ? "One answer needs a change." : `${fields.length} answers need a change.`;
  } else if (BY_CODE[p.code]) {
    summary = BY_CODE[p.code]!;
  } else if (p.status >= 500) {
    summary = BY_STATUS[p.status] ?? BY_CODE.internal!;
  } else {
    summary = plainText(p.detail) ?? BY_STATUS[p.status] ?? "Something went wrong. Please try again.";
  }
  return { summary, fields, requestId };
}

function sameField(reported: string, field: string): boolean {
  const f = normalize(reported);
  return f === field || f.endsWith(`.${field}`) || f.startsWith(`${field}[`) || f.startsWith(`${field}.`);
}

/** The plain message for one input ("email", "doctor.specialty", "weekly"), from the server or `check`. */
export function fieldError(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const found = error.fieldErrors.find((e) => sameField(e.field, field));
  return found ? messageOf(error.problem.type, found.field, found.message) : undefined;
}

/** Field errors that have no input of their own among `inline` (listed in the message box instead). */
export function otherFields(error: PlainError, inline: readonly string[]): PlainError["fields"] {
  return error.fields.filter((f) => !inline.some((name) => sameField(f.field, name)));
}

/** A rule checked in the browser before sending: the field and the sentence when it fails. */
export type Rule = [field: string, failed: boolean, message: string];

/**
 * The failed rules as a 422-shaped error (null when all pass), so the form shows them exactly
 * like the server's answer. Its messages are already plain and are shown as they are.
 */
export function check(rules: Rule[]): ApiError | null {
  const errors: FieldError[] = rules.filter(([, failed]) => failed).map(([field, , message]) => ({ field, message }));
  if (errors.length === 0) return null;
  return new ApiError({ type: CLIENT_CHECK, title: "Check your answers", status: 422, code: "validation_error", errors });
}

/** The usual checks, phrased once. */
export const rules = {
  required: (field: string, value: string, what: string): Rule => [field, value.trim() === "", `Fill in ${what}.`],
  email: (field: string, value: string): Rule => [
    field,
    !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value.trim()),
    "Enter an email address like name@example.com.",
  ],
  length: (field: string, value: string, min: number, max: number, what: string): Rule => [
    field,
    value.length < min || value.length > max,
    value.length < min ? `${capitalize(what)} must be at least ${min} characters.` : `${capitalize(what)} can be at most ${max} characters; shorten it.`,
  ],
  max: (field: string, value: string, max: number, what: string): Rule => [
    field,
    value.length > max,
    `${capitalize(what)} can be at most ${max} characters; shorten it.`,
  ],
};
