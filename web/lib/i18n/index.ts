/**
 * The message catalogue's accessor. Every word the web client shows comes from one catalogue
 * (`en.ts`); a translation is another file with the same keys (`Messages` makes TypeScript
 * enforce it) registered in `CATALOGUES`. Components call `useMessages()`, plain modules `t()`.
 * Dates and times are not in the catalogue: they are formatted by Intl in the reader's locale.
 */
import { en, type Messages } from "./en";

export type { Messages } from "./en";

/** The languages there are catalogues for (English only so far). */
export const CATALOGUES = { en } satisfies Record<string, Messages>;

export type Locale = keyof typeof CATALOGUES;

/** The language the pages are written in (`<html lang>`). */
export const LOCALE: Locale = "en";

/** The active catalogue, for code outside React components (lib/problems.ts, page metadata). */
export function t(): Messages {
  return CATALOGUES[LOCALE];
}

/** The active catalogue, in a component: `const t = useMessages(); ... {t.login.title}`. */
export function useMessages(): Messages {
  return CATALOGUES[LOCALE];
}
