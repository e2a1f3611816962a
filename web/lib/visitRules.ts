/**
 * When a visit's steps become possible, as the server enforces them (domain/appointments/
 * service.py: CHECK_IN_OPENS and NO_SHOW_AFTER; tests/web/test_booking_flow.py checks the two
 * stay equal). The buttons use them to stay disabled, with a countdown, until the server would
 * accept the step.
 */
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
  if (minutes < 1) return "in less than a minute";
  if (minutes < 60) return `in ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `in ${hours} h ${minutes % 60} min` : `in ${hours} h`;
  return `in ${Math.round(hours / 24)} days`;
}
