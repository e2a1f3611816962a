/** Language codes ("en", "pt-BR") as names ("English", "Brazilian Portuguese") in the reader's language. */

let names: Intl.DisplayNames | null | undefined;

function displayNames(): Intl.DisplayNames | null {
  if (names === undefined) {
    try {
      names = new Intl.DisplayNames(undefined, { type: "language" });
    } catch {
      names = null;
    }
  }
  return names;
}

/** A profile may hold a code ("fr") or a name typed at registration ("French"): names stay as they are. */
export function languageName(value: string): string {
  const text = value.trim();
  if (!/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/i.test(text)) return text;
  try {
    const name = displayNames()?.of(text);
    return name && name.toLowerCase() !== text.toLowerCase() ? name : text;
  } catch {
    return text;
  }
}

export function languageList(values: readonly string[] | null | undefined): string {
  return (values ?? []).map(languageName).filter(Boolean).join(", ");
}
