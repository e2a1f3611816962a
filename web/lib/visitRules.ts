/**
 * When a visit's steps become possible, as the server enforces them (domain/appointments/
 * service.py: CHECK_IN_OPENS and NO_SHOW_AFTER; tests/web/test_booking_flow.py checks the two
 * stay equal). The buttons use them to stay disabled, with a countdown, until the server would
 * accept the step.
 */
import { t } from "./i18n";

export const CHECK_IN_OPENS_MINUTES = 15;
export const NO_SHOW_AFTER_MINUTES = 10;

export function checkInOpensAt(startsAt: string): Date {
  return new Date(new Date(startsAt).getTime() - CHECK_IN_OPENS_MINUTES * 60_000);
}

export function noShowAllowedAt(startsAt: string): Date {
  return new Date(new Date(startsAt).getTime() + NO_SHOW_AFTER_MINUTES * 60_000);
}

/** "in 12 min", "in 1 h 5 min", "in 2 days": how long until `at`, rounded up to the minute. */
export function untilText(at: Date, now: number): string {
  const minutes = Math.max(0, Math.ceil((at.getTime() - now) / 60_000));
  const say = t().until;
  if (minutes < 1) return say.lessThanMinute;
  if (minutes < 60) return say.minutes(minutes);
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? say.hoursMinutes(hours, minutes % 60) : say.hours(hours);
  return say.days(Math.round(hours / 24));
}
