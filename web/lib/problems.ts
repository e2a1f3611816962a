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
import { t } from "./i18n";

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
  const m = t().problems;
  const label = m.fields[name] ?? (name ? name.replace(/_/g, " ") : m.thisForm);
  const index = /\[(\d+)\]/.exec(field);
  return index ? m.item(label, Number(index[1]) + 1) : label;
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
  const say = t().problems;
  if (name === "consent_to_treatment") return say.consent;
  if (name === "email" && /regex|valid|email|format/i.test(m)) return say.emailForm;
  if (name === "timezone" && /zone|regex|valid/i.test(m)) return say.timezoneList;
  if (/missing required field/i.test(m) || /got `null`/.test(m)) return say.fillIn(label);
  let found = /length >= (\d+)/.exec(m);
  if (found) {
    const n = Number(found[1]);
    return n <= 1 ? say.fillIn(label) : say.atLeast(label, n);
  }
  found = /length <= (\d+)/.exec(m);
  if (found) return say.atMost(label, found[1]!);
  found = /`(?:int|float|number)` >= (-?\d+)/.exec(m);
  if (found) return say.numberAtLeast(label, found[1]!);
  found = /`(?:int|float|number)` <= (-?\d+)/.exec(m);
  if (found) return say.numberAtMost(label, found[1]!);
  found = /`array` of length <= (\d+)/.exec(m);
  if (found) return say.listAtMost(label, found[1]!);
  if (/regex|\\S|\(\?=/.test(m)) {
    return /\\S|\(\?=/.test(m) ? say.notOnlySpaces(label) : say.badCharacters(label);
  }
  if (/Invalid enum value|Expected `bool`|Expected `true`/i.test(m)) return say.chooseOption(label);
  if (/Expected `(str|int|array|object)`/.test(m)) return say.notExpectedForm(label);
  const plain = plainText(m);
  if (plain) {
    // "wrong password" -> "Password: wrong password." reads badly; the label first, then the words.
    return plain.toLowerCase().includes(lastName(field).replace(/_/g, " "))
      ? plain
      : say.labelled(capitalize(label), `${plain[0]!.toLowerCase()}${plain.slice(1)}`);
  }
  return say.checkField(label);
}

/** What a person reads for an error: one summary sentence, each field's sentence, the request id. */
export interface PlainError {
  summary: string;
  fields: { field: string; message: string }[];
  requestId: string | null;
}

/** The summary for a problem's `code`, or for its status when the code says nothing more. */
function byCode(code: string): string | undefined {
  return t().problems.byCode[code];
}

function byStatus(status: number): string | undefined {
  const m = t().problems;
  const code = { 429: "rate_limited", 500: "internal", 503: "unavailable" }[status];
  return code ? m.byCode[code] : m.byStatus[status];
}

export function plainError(error: unknown): PlainError {
  if (!(error instanceof ApiError)) {
    const message = error instanceof Error ? plainText(error.message) : null;
    return { summary: message ?? t().problems.generic, fields: [], requestId: null };
  }
  const p = error.problem;
  const fields = (p.errors ?? []).map((e) => ({ field: normalize(e.field), message: messageOf(p.type, e.field, e.message) }));
  const requestId = p.request_id ?? null;
  if (p.status === 0) {
    return { summary: t().problems.offline, fields, requestId };
  }
  let summary: string;
  if (fields.length > 0 && (p.status === 422 || p.code === "validation_error")) {
    summary = t().problems.answersNeedChange(fields.length);
  } else if (byCode(p.code)) {
    summary = byCode(p.code)!;
  } else if (p.status >= 500) {
    summary = byStatus(p.status) ?? byCode("internal")!;
  } else {
    summary = plainText(p.detail) ?? byStatus(p.status) ?? t().problems.generic;
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
  return new ApiError({ type: CLIENT_CHECK, title: t().problems.checkAnswers, status: 422, code: "validation_error", errors });
}

/** The usual checks, phrased once; `what` is the catalogue's phrase ("your password"). */
export const rules = {
  required: (field: string, value: string, what: string): Rule => [field, value.trim() === "", t().problems.required(what)],
  email: (field: string, value: string): Rule => [field, !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value.trim()), t().problems.emailForm],
  length: (field: string, value: string, min: number, max: number, what: string): Rule => [
    field,
    value.length < min || value.length > max,
    value.length < min ? t().problems.whatAtLeast(capitalize(what), min) : t().problems.whatAtMost(capitalize(what), max),
  ],
  max: (field: string, value: string, max: number, what: string): Rule => [
    field,
    value.length > max,
    t().problems.whatAtMost(capitalize(what), max),
  ],
};
